/**
 * examples/cloudflare-worker under workerd (miniflare), its Hyperdrive binding pointing at the shared
 * stack's PgBouncer: the platform that hangs every other request when a pool outlives a request
 * (prisma/prisma#30255). Built once for the file; never skipped (missing example dependencies fail
 * with the command that installs them).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildExampleWorker, startExampleWorker } from '../../../tools/example/worker.ts';
import { type SocketRow, showClients, showPools, showStats } from '../../../tools/stack/faults/pgbouncer-admin.ts';
import { sql } from '../../support/managers.ts';

const stack = inject('stack');
const DATABASE = 'app';
/** The health details need the bearer token on a serverless platform (Workers is one). */
const ENDPOINT_TOKEN = `worker-test-${Math.random().toString(36).slice(2)}-token`;
/** A request that hangs fails the test instead of stalling it (workerd itself cancels a hung one after ~30 s). */
const REQUEST_DEADLINE_MS = 20_000;

let worker: { url: string; close(): Promise<void> };
const workerd: string[] = [];
/** Client connections on the app database that existed before the Worker served anything. */
let before: Set<string>;

const key = (row: SocketRow) => `${row.addr}:${row.port}`;
const appClients = async () => (await showClients(stack.adminUrl)).filter((row) => row.database === DATABASE);

/** Client connections the Worker left on PgBouncer, waiting (bounded) for the ctx.waitUntil closes to land. */
async function workerClientsLeft(): Promise<SocketRow[]> {
  let left: SocketRow[] = [];
  for (let i = 0; i < 50; i++) {
    left = (await appClients()).filter((row) => !before.has(key(row)));
    if (left.length === 0) return left;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return left;
}

const call = (path: string, init: RequestInit = {}) =>
  fetch(`${worker.url}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });

const createUser = (email: string) =>
  call('/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });

const xactCount = async () => (await showStats(stack.adminUrl)).find((row) => row.database === DATABASE)?.total_xact_count ?? 0;

beforeAll(async () => {
  await buildExampleWorker();
  before = new Set((await appClients()).map(key));
  worker = await startExampleWorker({
    port: 0,
    databaseUrl: stack.poolerUrl,
    // sslmode=disable: under workerd the default `prefer`'s TLS question gets no answer (see tools/example/run-worker.ts).
    env: {
      PGBOUNCER_ADMIN_URL: `${stack.adminUrl}${stack.adminUrl.includes('?') ? '&' : '?'}sslmode=disable`,
      PGPOOL_ENDPOINT_TOKEN: ENDPOINT_TOKEN,
    },
    build: false,
    log: (line) => workerd.push(line),
  });
});

afterAll(async () => {
  await worker?.close();
});

describe('the Worker example under workerd, through Hyperdrive to PgBouncer', () => {
  const run = `${Date.now().toString(36)}-${process.pid}`;

  it('serves 30 write-then-read rounds in a row: every request answers, none hangs', async () => {
    const transactionsBefore = await xactCount();
    for (let round = 0; round < 30; round++) {
      const email = `worker-${run}-${round}@example.com`;
      const created = await createUser(email);
      expect(created.status, workerd.join('\n')).toBe(200);
      const user = (await created.json()) as { id: string; email: string };
      expect(user.email).toBe(email);
      const read = await call(`/users/${encodeURIComponent(email)}`);
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ id: user.id, email });
    }
    // Every round went through PgBouncer (one write and one read transaction each).
    expect((await xactCount()) - transactionsBefore).toBeGreaterThanOrEqual(60);
  });

  it('serves 20 concurrent reads', async () => {
    const email = `worker-${run}-concurrent@example.com`;
    expect((await createUser(email)).status).toBe(200);
    const responses = await Promise.all(Array.from({ length: 20 }, () => call(`/users/${encodeURIComponent(email)}`)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { email: string }[];
    expect(new Set(bodies.map((b) => b.email))).toEqual(new Set([email]));
  });

  it('plain prisma calls (manager.prisma, taken at module scope) reach each request’s own client', async () => {
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await call('/users');
      expect(response.status, workerd.join('\n')).toBe(200);
      counts.push(((await response.json()) as { count: number }).count);
    }
    // 30 rounds + 1 user from the tests above, at least.
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(31);
  });

  it('answers 404 for an absent user, 400 for a bad body', async () => {
    expect((await call(`/users/${encodeURIComponent(`nobody-${run}@example.com`)}`)).status).toBe(404);
    expect((await call('/users', { method: 'POST', body: 'not json' })).status).toBe(400);
  });

  it('reports health from inside the Worker: transaction mode over Hyperdrive, PgBouncer seen', async () => {
    type Report = { status: string; checks: { connectionPool: { mode: string; provider?: string }; pgbouncer?: { status: string } } };
    const read = async () => {
      const response = await call('/api/health', { headers: { authorization: `Bearer ${ENDPOINT_TOKEN}` } });
      return { code: response.status, report: (await response.json()) as Report };
    };
    // The PgBouncer check is `degraded` while another client briefly waits on the shared pooler: poll for healthy.
    await expect.poll(async () => (await read()).report.status, { timeout: 15_000 }).toBe('healthy');
    const { code, report } = await read();
    expect(code).toBe(200);
    expect(report.checks.connectionPool).toMatchObject({ mode: 'transaction', provider: 'hyperdrive' });
    expect(report.checks.pgbouncer?.status).toBe('healthy');
  });

  it('answers 10 concurrent health requests (their probes share one promise across requests in the isolate)', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, () => call('/api/health')));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
  });

  it('streams 30 of 30 bodies whose every line is a database read made after the handler returned', async () => {
    const email = `worker-${run}-streamed@example.com`;
    expect((await createUser(email)).status).toBe(200);
    const bodies: string[] = [];
    for (let round = 0; round < 30; round++) {
      const response = await call(`/users/${encodeURIComponent(email)}/stream`);
      expect(response.status, workerd.join('\n')).toBe(200);
      bodies.push(await response.text());
    }
    // Three lines each, every one found the user: the request's pool was open for the whole body.
    expect(bodies, workerd.join('\n')).toEqual(Array(30).fill(`0 ${email}\n1 ${email}\n2 ${email}\n`));
  });

  it('a body the client abandons midway still ends its request (cancel closes the scope)', async () => {
    const email = `worker-${run}-abandoned@example.com`;
    expect((await createUser(email)).status).toBe(200);
    for (let round = 0; round < 5; round++) {
      const response = await call(`/users/${encodeURIComponent(email)}/stream`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      await reader.cancel();
    }
    // The last test of the file checks that none of these requests left its connections open.
    expect(workerd.join('\n')).not.toMatch(/close failed/);
  });

  it('lands all 30 writes the app started in ctx.waitUntil after the response', async () => {
    const emails = Array.from({ length: 30 }, (_, i) => `worker-${run}-later-${i}@example.com`);
    for (const email of emails) {
      const response = await call('/users/later', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      });
      expect(response.status, workerd.join('\n')).toBe(202);
    }
    const landed = async () =>
      (await sql<{ n: number }>(stack.directUrl, 'SELECT count(*)::int AS n FROM "User" WHERE email = ANY($1)', [emails]))[0]?.n;
    await expect.poll(landed, { timeout: 15_000 }).toBe(30);
    expect(workerd.join('\n')).not.toMatch(/later write failed|request has ended/);
  });

  it('leaves no client connection open on PgBouncer once the requests have ended', async () => {
    expect(await workerClientsLeft()).toEqual([]);
    // SHOW POOLS agrees: no client of the app database is active or waiting beyond those open before the Worker ran.
    const pool = (await showPools(stack.adminUrl)).filter((row) => row.database === DATABASE);
    const clients = pool.reduce((sum, row) => sum + row.cl_active + row.cl_waiting, 0);
    expect(clients).toBeLessThanOrEqual(before.size);
  });
});
