/**
 * Proves each fault tool in test/support/faults against the real stack, and pins down what a
 * client sees for each fault (the error classifier is built on these codes and messages).
 * Admin-console and backend faults run on the shared stack and undo themselves; restarts run on a
 * stack this file starts itself.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  adminCommand,
  countServerConnections,
  kill,
  pause,
  pgbouncerServerBackends,
  reconnect,
  reload,
  resume,
  showConfig,
  showPools,
  showServers,
  showStats,
  startProxy,
  type TcpProxy,
  terminateBackends,
  waitForBackends,
} from '../../../tools/stack/faults/index.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { sql } from '../../support/managers.ts';
import { bareClient } from '../../support/prisma.ts';

const stack = inject('stack');

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error & { code?: string; severity?: string } };

/** Never rejects, so a fault's error cannot become an unhandled rejection before we look at it. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, error }),
  );
}

/** Resolves `'pending'` if `promise` has not settled within `ms` (the timer is always cleared). */
async function stillPendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const pending = Symbol('pending');
  const winner = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise<symbol>((resolve) => {
      timer = setTimeout(() => resolve(pending), ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  return winner === pending;
}

function expectFailure<T>(result: Settled<T>): Error & { code?: string; severity?: string } {
  if (result.ok) throw new Error('expected the operation to fail, it succeeded');
  return result.error;
}

// Every client a test opens is ended after it, whatever happened.
const openClients = new Set<pg.Client>();
/** Client 'error' events after a fault, recorded instead of crashing the worker. */
const clientErrorEvents: Error[] = [];

function newClient(connectionString: string, config: pg.ClientConfig = {}): pg.Client {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000, ...config });
  client.on('error', (error) => clientErrorEvents.push(error));
  openClients.add(client);
  return client;
}

async function connected(connectionString: string, config: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = newClient(connectionString, config);
  await client.connect();
  return client;
}

afterEach(async () => {
  await Promise.all([...openClients].map((client) => client.end().catch(() => {})));
  openClients.clear();
  clientErrorEvents.length = 0;
});

describe('PgBouncer admin console (shared stack)', () => {
  // A failed test must not leave the shared pooler paused (KILL also leaves it paused).
  afterEach(async () => {
    await resume(stack.adminUrl, 'app').catch((error: Error) => {
      if (!/is not paused/.test(error.message)) throw error;
    });
  });

  it('rejects identifiers that would need quoting, before connecting', async () => {
    await expect(pause('postgresql://nobody@127.0.0.1:1/x', 'app; KILL app')).rejects.toThrow(/must match \[A-Za-z0-9_\]\+/);
    await expect(kill('postgresql://nobody@127.0.0.1:1/x', '')).rejects.toThrow(TypeError);
  });

  it('answers the simple protocol only: a parameterised query is refused with 08P01', async () => {
    const admin = await connected(stack.adminUrl);
    const error = expectFailure(await settle(admin.query('SELECT $1::int', [1])));
    expect(error).toMatchObject({ code: '08P01', message: 'extended query protocol not supported by admin console' });
    // The console then drops the connection (an 'error' event: 08P01 "bad packet").
    const { command, rows } = await adminCommand<{ version: string }>(stack.adminUrl, 'SHOW VERSION');
    expect(command).toBe('SHOW');
    expect(rows[0]?.version).toMatch(/^PgBouncer 1\.\d+/);
  });

  it('PAUSE makes a query wait and RESUME releases it', async () => {
    const client = await connected(stack.poolerUrl);
    await client.query('SELECT 1');
    await pause(stack.adminUrl, 'app');
    const query = settle(client.query<{ n: number }>('SELECT 42 AS n'));
    expect(await stillPendingAfter(query, 400)).toBe(true);
    const waiting = (await showPools(stack.adminUrl)).find((p) => p.database === 'app' && p.user === 'app');
    expect(waiting?.cl_waiting).toBeGreaterThanOrEqual(1);
    await resume(stack.adminUrl, 'app');
    const result = await query;
    expect(result.ok && result.value.rows[0]?.n).toBe(42);
  });

  it('RESUME of a database that is not paused fails with 08P01', async () => {
    await expect(resume(stack.adminUrl, 'app')).rejects.toMatchObject({ code: '08P01', message: 'database app is not paused' });
  });

  it('KILL drops client connections (08P01 "database removed") and holds new ones until RESUME', async () => {
    const client = await connected(stack.poolerUrl);
    const query = settle(client.query('SELECT pg_sleep(10)'));
    await waitForBackends(stack.superuserUrl, { database: 'app', user: 'app', state: 'active' });
    await kill(stack.adminUrl, 'app');
    const error = expectFailure(await query);
    expect(error).toMatchObject({ code: '08P01', message: 'database removed', severity: 'FATAL' });
    // The connection is gone for good: pg refuses further queries on it.
    const next = expectFailure(await settle(client.query('SELECT 1')));
    expect(next.message).toBe('Client has encountered a connection error and is not queryable');
    // KILL leaves the database paused: a new client cannot log in until RESUME.
    const blocked = newClient(stack.poolerUrl, { connectionTimeoutMillis: 500 });
    const blockedError = expectFailure(await settle(blocked.connect()));
    expect(blockedError.message).toMatch(/timeout/i);
    await resume(stack.adminUrl, 'app');
    const after = await connected(stack.poolerUrl);
    expect((await after.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
  });

  it('KILL through Prisma 7 + adapter-pg: P2010 with driver error code 08P01', async () => {
    const prisma = bareClient(stack.poolerUrl, 1);
    try {
      await prisma.prisma.$queryRaw`SELECT 1`;
      const query = settle(prisma.prisma.$queryRaw`SELECT pg_sleep(10)`);
      await waitForBackends(stack.superuserUrl, { database: 'app', user: 'app', state: 'active' });
      await kill(stack.adminUrl, 'app', { resume: true });
      const error = expectFailure(await query) as Error & { code?: string; meta?: { driverAdapterError?: { cause?: unknown } } };
      expect(error.name).toBe('PrismaClientKnownRequestError');
      expect(error.code).toBe('P2010');
      expect(error.meta?.driverAdapterError?.cause).toMatchObject({ kind: 'postgres', code: '08P01', message: 'database removed' });
      // pg.Pool discards the broken client: the next query gets a fresh connection.
      expect(await prisma.prisma.$queryRaw<{ n: number }[]>`SELECT 7::int AS n`).toEqual([{ n: 7 }]);
    } finally {
      await prisma.close();
    }
  });

  it('RECONNECT replaces every server connection', async () => {
    const client = await connected(stack.poolerUrl);
    await client.query('SELECT 1');
    const before = new Set((await showServers(stack.adminUrl)).filter((s) => s.database === 'app').map((s) => s.remote_pid));
    expect(before.size).toBeGreaterThanOrEqual(1);
    await reconnect(stack.adminUrl, 'app');
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(before.has(rows[0]?.pid ?? -1)).toBe(false);
  });

  it('RELOAD succeeds and the pooler keeps serving', async () => {
    await reload(stack.adminUrl);
    const config = await showConfig(stack.adminUrl);
    expect(config.pool_mode).toBe('transaction');
    const client = await connected(stack.poolerUrl);
    expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
  });

  it('SHOW POOLS and SHOW STATS give typed rows', async () => {
    const statsBefore = (await showStats(stack.adminUrl)).find((s) => s.database === 'app');
    const client = await connected(stack.poolerUrl);
    for (let i = 0; i < 5; i++) await client.query('SELECT 1');
    const pools = await showPools(stack.adminUrl);
    const app = pools.find((p) => p.database === 'app' && p.user === 'app');
    expect(app).toMatchObject({ pool_mode: 'transaction', cl_waiting: 0 });
    expect(app?.cl_active).toBeGreaterThanOrEqual(1);
    for (const key of ['cl_active', 'cl_waiting', 'sv_active', 'sv_idle', 'sv_used', 'maxwait', 'maxwait_us'] as const) {
      expect(typeof app?.[key], key).toBe('number');
    }
    const stats = (await showStats(stack.adminUrl)).find((s) => s.database === 'app');
    expect(stats).toBeDefined();
    for (const [key, value] of Object.entries(stats ?? {})) if (key !== 'database') expect(typeof value, key).toBe('number');
    expect((stats?.total_query_count ?? 0) - (statsBefore?.total_query_count ?? 0)).toBeGreaterThanOrEqual(5);
  });
});

describe('pg_terminate_backend (shared stack)', () => {
  it('kills the backend of a query mid pg_sleep: 57P01, and the pooled client is dropped', async () => {
    const applicationName = `fault_${randomUUID().slice(0, 8)}`;
    const client = await connected(stack.poolerUrl, { application_name: applicationName });
    const query = settle(client.query('SELECT pg_sleep(10)'));
    const [backend] = await waitForBackends(stack.superuserUrl, { database: 'app', applicationName, state: 'active' });
    // It is one of PgBouncer's server connections.
    const servers = await pgbouncerServerBackends(stack.superuserUrl, stack.adminUrl, 'app');
    expect(servers.map((s) => s.pid)).toContain(backend?.pid);
    expect(await terminateBackends(stack.superuserUrl, { database: 'app', applicationName })).toBe(1);
    const error = expectFailure(await query);
    expect(error).toMatchObject({ code: '57P01', message: 'terminating connection due to administrator command', severity: 'FATAL' });
    // PgBouncer then closes the client too ("server conn crashed?"); that connection is done.
    const next = expectFailure(await settle(client.query('SELECT 1')));
    expect(next.message).toBe('Client has encountered a connection error and is not queryable');
    expect(await countServerConnections(stack.superuserUrl, { database: 'app', applicationName })).toBe(0);
  });

  it('terminates only what matches the filter', async () => {
    const applicationName = `fault_${randomUUID().slice(0, 8)}`;
    const bystander = await connected(stack.directUrl, { application_name: `${applicationName}_other` });
    const target = await connected(stack.directUrl, { application_name: applicationName });
    const targetQuery = settle(target.query('SELECT pg_sleep(10)'));
    await waitForBackends(stack.superuserUrl, { database: 'app', applicationName, state: 'active' });
    expect(await terminateBackends(stack.superuserUrl, { database: 'app', applicationName, state: 'idle' })).toBe(0);
    expect(await terminateBackends(stack.superuserUrl, { database: 'app', applicationName, state: 'active' })).toBe(1);
    // Straight to Postgres the client gets the same 57P01.
    expect(expectFailure(await targetQuery).code).toBe('57P01');
    expect((await bystander.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
  });

  it('through Prisma 7 + adapter-pg: P2010 with driver error code 57P01', async () => {
    const prisma = bareClient(stack.poolerUrl, 1);
    const applicationName = `fault_${randomUUID().slice(0, 8)}`;
    // bareClient has no application_name option: set it on the pool's connections.
    prisma.pool.options.application_name = applicationName;
    try {
      const query = settle(prisma.prisma.$queryRaw`SELECT pg_sleep(10)`);
      await waitForBackends(stack.superuserUrl, { database: 'app', applicationName, state: 'active' });
      expect(await terminateBackends(stack.superuserUrl, { database: 'app', applicationName })).toBe(1);
      const error = expectFailure(await query) as Error & { code?: string; meta?: { driverAdapterError?: { cause?: unknown } } };
      expect(error.name).toBe('PrismaClientKnownRequestError');
      expect(error.code).toBe('P2010');
      expect(error.meta?.driverAdapterError?.cause).toMatchObject({ kind: 'postgres', code: '57P01' });
    } finally {
      await prisma.close();
    }
  });
});

describe('TCP proxy in front of the pooler', () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
  });
  afterEach(() => proxy.setMode('pass'));
  afterAll(() => proxy.close());

  it('rewrites a connection string to go through it', () => {
    const rewritten = new URL(proxy.url(stack.poolerUrl));
    const original = new URL(stack.poolerUrl);
    expect(rewritten.host).toBe(`127.0.0.1:${proxy.port}`);
    expect([rewritten.username, rewritten.password, rewritten.pathname]).toEqual([original.username, original.password, original.pathname]);
  });

  it('pass: carries a real query', async () => {
    const client = await connected(proxy.url(stack.poolerUrl));
    expect((await client.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]?.n).toBe(42);
    expect(proxy.connections()).toBeGreaterThanOrEqual(1);
  });

  it('blackhole: a new connection is accepted but never answered, so connect times out', async () => {
    proxy.setMode('blackhole');
    const acceptedBefore = proxy.accepted();
    const client = newClient(proxy.url(stack.poolerUrl), { connectionTimeoutMillis: 500 });
    const started = performance.now();
    const error = expectFailure(await settle(client.connect()));
    expect(performance.now() - started).toBeGreaterThanOrEqual(490);
    // pg destroys the socket with this message when connectionTimeoutMillis passes; no code.
    expect(error.message).toBe('timeout expired');
    expect(error.code).toBeUndefined();
    expect(proxy.accepted()).toBe(acceptedBefore + 1);
  });

  it('blackhole on a live connection freezes it; pass thaws it and the query completes', async () => {
    const client = await connected(proxy.url(stack.poolerUrl));
    proxy.setMode('blackhole');
    const query = settle(client.query<{ n: number }>('SELECT 5 AS n'));
    expect(await stillPendingAfter(query, 300)).toBe(true);
    proxy.setMode('pass');
    const result = await query;
    expect(result.ok && result.value.rows[0]?.n).toBe(5);
  });

  it('drop: a statement sent now never reaches the server (the flight is counted), and no answer comes back', async () => {
    const client = await connected(proxy.url(stack.poolerUrl));
    const marker = `drop-${Date.now()}`;
    const flightsBefore = proxy.flights();
    proxy.setMode('drop');
    const query = settle(client.query(`SELECT '${marker}' AS m, pg_sleep(0)`));
    expect(await stillPendingAfter(query, 300)).toBe(true);
    expect(proxy.flights()).toBe(flightsBefore + 1);
    const seen = await sql<{ n: number }>(stack.superuserUrl, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1`, [
      `%'${marker}'%`,
    ]);
    expect(seen[0]?.n).toBe(0);
    proxy.resetAll();
    expect(expectFailure(await query).code).toBe('ECONNRESET');
  });

  it('reset: a live connection errors with ECONNRESET and new connections are reset too', async () => {
    const client = await connected(proxy.url(stack.poolerUrl));
    const query = settle(client.query('SELECT pg_sleep(10)'));
    await waitForBackends(stack.superuserUrl, { database: 'app', user: 'app', state: 'active' });
    proxy.setMode('reset');
    expect(expectFailure(await query)).toMatchObject({ code: 'ECONNRESET', message: 'read ECONNRESET' });
    const fresh = newClient(proxy.url(stack.poolerUrl));
    expect(expectFailure(await settle(fresh.connect())).code).toBe('ECONNRESET');
  });

  it('resetAll: RSTs every live connection and keeps passing new ones', async () => {
    const clients = await Promise.all([connected(proxy.url(stack.poolerUrl)), connected(proxy.url(stack.poolerUrl))]);
    const queries = clients.map((c) => settle(c.query('SELECT pg_sleep(10)')));
    await waitForBackends(stack.superuserUrl, { database: 'app', user: 'app', state: 'active' }, { min: 2 });
    expect(proxy.resetAll()).toBeGreaterThanOrEqual(2);
    for (const result of await Promise.all(queries)) expect(expectFailure(result).code).toBe('ECONNRESET');
    expect(proxy.connections()).toBe(0);
    const fresh = await connected(proxy.url(stack.poolerUrl));
    expect((await fresh.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
  });

  it('delay: a query round trip takes at least twice the delay (once each way)', async () => {
    const client = await connected(proxy.url(stack.poolerUrl));
    await client.query('SELECT 1');
    const delayMs = 150;
    proxy.setMode({ delayMs });
    const started = performance.now();
    const { rows } = await client.query<{ n: number }>('SELECT 3 AS n');
    const elapsed = performance.now() - started;
    expect(rows[0]?.n).toBe(3);
    // 2 ms of slack for Date.now()/performance.now() rounding; no upper bound on a busy machine.
    expect(elapsed).toBeGreaterThanOrEqual(2 * delayMs - 2);
  });

  it('rejects an invalid mode with an error naming it', () => {
    expect(() => proxy.setMode({ delayMs: -1 })).toThrow(/mode must be/);
    expect(() => proxy.setMode('lose' as never)).toThrow(/mode must be/);
    expect(proxy.mode()).toBe('pass');
  });

  it('close() destroys live connections and stops listening', async () => {
    const own = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
    const client = await connected(own.url(stack.poolerUrl));
    await client.query('SELECT 1');
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    await own.close();
    await ended;
    expect(own.connections()).toBe(0);
    await own.close(); // twice is fine
    const refused = newClient(own.url(stack.poolerUrl));
    expect(expectFailure(await settle(refused.connect())).code).toBe('ECONNREFUSED');
  });
});

describe('restarts (own stack)', () => {
  let own: LocalStack;
  beforeAll(async () => {
    own = await startStack();
  });
  afterAll(() => own?.stop());

  it('RELOAD applies an edited pgbouncer.ini', async () => {
    const ini = path.join(own.baseDir, 'pgbouncer.ini');
    const original = await readFile(ini, 'utf8');
    expect(original).toMatch(/^default_pool_size = 20$/m);
    await writeFile(ini, original.replace(/^default_pool_size = 20$/m, 'default_pool_size = 7'));
    await reload(own.adminUrl);
    expect((await showConfig(own.adminUrl)).default_pool_size).toBe('7');
    const client = await connected(own.poolerUrl);
    expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
  });

  for (const mode of ['fast', 'immediate'] as const) {
    it(`Postgres ${mode} restart: the in-flight query fails, idle pooled clients and new ones work after`, async () => {
      const idle = await connected(own.poolerUrl);
      await idle.query('SELECT 1');
      const busy = await connected(own.poolerUrl);
      const query = settle(busy.query('SELECT pg_sleep(10)'));
      await waitForBackends(own.superuserUrl, { database: 'app', user: 'app', state: 'active' });
      const pidBefore = own.pids().postgres;
      await own.restartPostgres(mode);
      expect(own.pids().postgres).not.toBe(pidBefore);
      const error = expectFailure(await query);
      // fast: Postgres tells the backend's client why (57P01); immediate: PgBouncer only sees
      // the server socket die and reports it as 08P01 "server conn crashed?".
      if (mode === 'fast') expect(error).toMatchObject({ code: '57P01', message: 'terminating connection due to administrator command' });
      else expect(error).toMatchObject({ code: '08P01', message: 'server conn crashed?' });
      // In transaction mode an idle client never held a server connection: it survives.
      expect((await idle.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
      const fresh = await connected(own.poolerUrl);
      expect((await fresh.query<{ n: number }>('SELECT 2 AS n')).rows[0]?.n).toBe(2);
    });
  }

  it('PgBouncer restart: every client connection is dropped, new ones work after', async () => {
    const idle = await connected(own.poolerUrl);
    await idle.query('SELECT 1');
    const busy = await connected(own.poolerUrl);
    const query = settle(busy.query('SELECT pg_sleep(10)'));
    await waitForBackends(own.superuserUrl, { database: 'app', user: 'app', state: 'active' });
    const pidBefore = own.pids().pgbouncer;
    await own.restartPgbouncer();
    expect(own.pids().pgbouncer).not.toBe(pidBefore);
    const error = expectFailure(await query);
    expect(error.code).toBeUndefined();
    expect(error.message).toBe('Connection terminated unexpectedly');
    const idleError = expectFailure(await settle(idle.query('SELECT 1')));
    expect(idleError.message).toBe('Client has encountered a connection error and is not queryable');
    const fresh = await connected(own.poolerUrl);
    expect((await fresh.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
  });
});
