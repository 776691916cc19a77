/**
 * The Worker: three routes over the app's service file.
 *   POST /users {"email": …}  → 200 the user (created, or the existing one with that email)
 *   GET  /users/:email        → 200 the user, 404 when absent
 *   GET  /users               → { count } through a plain `prisma.user.count()` (manager.prisma)
 *   GET  /api/health          → the health report (200 healthy/degraded, 503 unhealthy)
 *
 * withWorkerRequest gives each request its own pool and Prisma client over the Hyperdrive binding
 * (env.HYPERDRIVE) and closes them through ctx.waitUntil once the response is out: a pool kept
 * across requests would hang every other one on Workers.
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

async function route(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/api/health' && request.method === 'GET') return health(request);
  if (url.pathname === '/users' && request.method === 'POST') return createUser(request);
  // A plain call: `prisma` was taken once at module scope, yet each request reaches its own client.
  if (url.pathname === '/users' && request.method === 'GET') return json({ count: await prisma.user.count() });
  const match = /^\/users\/([^/]+)$/.exec(url.pathname);
  if (match && request.method === 'GET') return findUser(decodeURIComponent(match[1] as string));
  return json({ error: 'no such route' }, 404);
}

export default {
  fetch: withWorkerRequest(connectionPoolManager, async (request: Request) => {
    try {
      return await route(request);
    } catch (error) {
      // Never a message or a URL in the response: the class name says what kind of failure it was.
      const kind = error instanceof ConfigError ? `ConfigError (${error.variable})` : error instanceof Error ? error.name : 'Error';
      console.error('request failed:', error);
      return json({ error: kind }, 500);
    }
  }),
};
