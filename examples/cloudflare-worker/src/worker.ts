/**
 * The Worker: three routes over the app's service file.
 *   POST /users {"email": …}  → 200 the user (created, or the existing one with that email)
 *   GET  /users/:email        → 200 the user, 404 when absent
 *   GET  /users               → { count } through a plain `prisma.user.count()` (manager.prisma)
 *   GET  /users/:email/stream → 200 a text body streamed after the handler returned: each of its
 *                               lines is read from the database when the client asks for it
 *   POST /users/later {"email": …} → 202 at once; the user is written afterwards in ctx.waitUntil
 *   GET  /api/health          → the health report (200 healthy/degraded, 503 unhealthy)
 *
 * withWorkerRequest gives each request its own pool and Prisma client over the Hyperdrive binding
 * (env.HYPERDRIVE) and closes them through ctx.waitUntil once the response body has been sent and
 * the app's own ctx.waitUntil work has settled: a pool kept across requests would hang every other
 * one on Workers.
 */
import { ConfigError, createHealthHandler, withWorkerRequest } from 'prisma-pgbouncer-pooling';
import { connectionPoolManager, prisma, readWithPooling, writeWithPooling } from './services/connection-pool-manager.server';

const health = createHealthHandler(connectionPoolManager);

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });

async function createUser(request: Request): Promise<Response> {
  const body = (await request.json().catch(() => null)) as { email?: unknown } | null;
  const email = body?.email;
  if (typeof email !== 'string' || !email.includes('@')) return json({ error: 'body must be JSON {"email": "<address>"}' }, 400);
  const user = await writeWithPooling((tx) => tx.user.upsert({ where: { email }, create: { email }, update: {} }));
  return json(user);
}

async function findUser(email: string): Promise<Response> {
  const user = await readWithPooling((tx) => tx.user.findUnique({ where: { email } }));
  return user ? json(user) : json({ error: 'not found' }, 404);
}

/** Lines of the streamed body: each one a database read made when the client pulls it (streaming SSR's shape). */
const STREAM_LINES = 3;

function streamUser(email: string): Response {
  const encoder = new TextEncoder();
  let sent = 0;
  // highWaterMark 0: nothing is read before the client asks, so every read happens after the handler returned.
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const user = await readWithPooling((tx) => tx.user.findUnique({ where: { email } }));
        controller.enqueue(encoder.encode(`${sent} ${user?.email ?? '-'}\n`));
        if (++sent === STREAM_LINES) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

async function createUserLater(request: Request, ctx: ExecutionContextLike): Promise<Response> {
  const body = (await request.json().catch(() => null)) as { email?: unknown } | null;
  const email = body?.email;
  if (typeof email !== 'string' || !email.includes('@')) return json({ error: 'body must be JSON {"email": "<address>"}' }, 400);
  ctx.waitUntil(
    (async () => {
      // After the response: the write starts once the handler has long returned.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await writeWithPooling((tx) => tx.user.upsert({ where: { email }, create: { email }, update: {} }));
    })().catch((error: unknown) => console.error('later write failed:', error)),
  );
  return json({ accepted: email }, 202);
}

/** The part of the Worker's ExecutionContext used here. */
interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

async function route(request: Request, ctx: ExecutionContextLike): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/api/health' && request.method === 'GET') return health(request);
  if (url.pathname === '/users' && request.method === 'POST') return createUser(request);
  if (url.pathname === '/users/later' && request.method === 'POST') return createUserLater(request, ctx);
  // A plain call: `prisma` was taken once at module scope, yet each request reaches its own client.
  if (url.pathname === '/users' && request.method === 'GET') return json({ count: await prisma.user.count() });
  const streamed = /^\/users\/([^/]+)\/stream$/.exec(url.pathname);
  if (streamed && request.method === 'GET') return streamUser(decodeURIComponent(streamed[1] as string));
  const match = /^\/users\/([^/]+)$/.exec(url.pathname);
  if (match && request.method === 'GET') return findUser(decodeURIComponent(match[1] as string));
  return json({ error: 'no such route' }, 404);
}

export default {
  fetch: withWorkerRequest(connectionPoolManager, async (request: Request, _env: object, ctx: ExecutionContextLike) => {
    try {
      return await route(request, ctx);
    } catch (error) {
      // Never a message or a URL in the response: the class name says what kind of failure it was.
      const kind = error instanceof ConfigError ? `ConfigError (${error.variable})` : error instanceof Error ? error.name : 'Error';
      console.error('request failed:', error);
      return json({ error: kind }, 500);
    }
  }),
};
