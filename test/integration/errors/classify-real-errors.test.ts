/**
 * Every row of the classifier's table, produced by a real failing case through Prisma 7 +
 * adapter-pg + PgBouncer 1.18 (or plain pg where that is the only client that sees it).
 * Nothing here is a hand-built error object: if a library upgrade changes a shape, this fails.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createAdapter } from '~/adapter/create-adapter.ts';
import { classifyError, type ErrorClassification } from '~/errors/classify-error.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { adminCommand } from '../../../tools/stack/faults/pgbouncer-admin.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { failure } from '../../support/failure.ts';
import { sql, terminateBackend } from '../../support/managers.ts';

const stack = inject('stack');

type Client = InstanceType<typeof PrismaClient>;
const opened: { prisma: Client; pool: pg.Pool }[] = [];
function prismaOn(url: string, poolConfig: Partial<pg.PoolConfig> = {}): Client {
  // The path the wrappers use: our adapter (pipelined BEGIN) on a pipeline-mode pool.
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: 5000,
    pipeline: true,
    ...poolConfig,
  } as pg.PoolConfig);
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: createAdapter(pool, { schema: null }) });
  opened.push({ prisma, pool });
  return prisma;
}
afterAll(async () => {
  for (const { prisma, pool } of opened) {
    await prisma.$disconnect().catch(() => {});
    await pool.end().catch(() => {});
  }
});

function expectKind(error: unknown, expected: Partial<ErrorClassification>): void {
  expect(classifyError(error), String((error as Error)?.message).slice(0, 300)).toMatchObject(expected);
}

/** Takes the only connection of a max-1 pool inside an open transaction; the returned function ends it. */
async function holdOnlyConnection(client: Client): Promise<() => Promise<void>> {
  await client.$queryRaw`SELECT 1`; // warm: the one connection exists before anyone waits for it
  let release: () => void = () => {};
  let held = false;
  const holding = client.$transaction(
    () =>
      new Promise<void>((resolve) => {
        held = true;
        release = resolve;
      }),
    { timeout: 10_000 },
  );
  await vi.waitUntil(() => held);
  return async () => {
    release();
    await holding;
  };
}

async function pidOf(tx: { $queryRaw: (q: TemplateStringsArray) => Promise<unknown> }): Promise<number> {
  return ((await tx.$queryRaw`SELECT pg_backend_pid() AS pid`) as [{ pid: number }])[0].pid;
}

describe('classifyError on real failures through the shared stack (PgBouncer, transaction mode)', () => {
  let prisma: Client;
  beforeAll(async () => {
    prisma = prismaOn(stack.poolerUrl);
    await sql(stack.directUrl, 'CREATE TABLE IF NOT EXISTS test_classify (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)');
    await sql(stack.directUrl, 'INSERT INTO test_classify (id) VALUES (1), (2) ON CONFLICT DO NOTHING');
  });

  it('40001 from a raw query → serialization (P2010 with driverAdapterError)', async () => {
    const error = await failure(() =>
      prisma.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'serialization_failure'; END $$`),
    );
    expectKind(error, { kind: 'serialization', retryable: true, code: '40001' });
  });

  it('a real Serializable write conflict from model queries → serialization', async () => {
    const id = randomUUID();
    await prisma.user.create({ data: { email: `${id}@example.test`, name: '0' } });
    // Both read before either writes (a barrier, not a sleep): a guaranteed rw-conflict.
    let arrived = 0;
    let openBarrier: () => void = () => {};
    const barrier = new Promise<void>((r) => (openBarrier = r));
    const bump = () =>
      prisma.$transaction(
        async (tx) => {
          const u = await tx.user.findUniqueOrThrow({ where: { email: `${id}@example.test` } });
          if (++arrived === 2) openBarrier();
          await barrier;
          await tx.user.update({ where: { id: u.id }, data: { name: String(Number(u.name) + 1) } });
        },
        { isolationLevel: 'Serializable' },
      );
    const results = await Promise.allSettled([bump(), bump()]);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expectKind(r.reason, { kind: 'serialization', retryable: true });
  });

  it('40P01 deadlock → deadlock', async () => {
    const lockBoth = (first: number, second: number) =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRaw`UPDATE test_classify SET v = v + 1 WHERE id = ${first}`;
        await new Promise((r) => setTimeout(r, 200));
        await tx.$executeRaw`UPDATE test_classify SET v = v + 1 WHERE id = ${second}`;
      });
    const results = await Promise.allSettled([lockBoth(1, 2), lockBoth(2, 1)]);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expectKind(rejected[0]?.reason, { kind: 'deadlock', retryable: true, code: '40P01' });
  });

  it('23505 unique violation (P2002) → constraint, not retryable', async () => {
    const email = `dup-${randomUUID()}@example.test`;
    await prisma.user.create({ data: { email } });
    expectKind(await failure(() => prisma.user.create({ data: { email } })), { kind: 'constraint', retryable: false });
  });

  it('25006 write in a READ ONLY transaction → read-only', async () => {
    const error = await failure(() =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe('SET TRANSACTION READ ONLY');
        await tx.$executeRaw`UPDATE test_classify SET v = v + 1 WHERE id = 1`;
      }),
    );
    expectKind(error, { kind: 'read-only', retryable: false, code: '25006' });
  });

  it('42P01 undefined table → query, not retryable', async () => {
    expectKind(await failure(() => prisma.$queryRawUnsafe('SELECT * FROM no_such_table')), {
      kind: 'query',
      retryable: false,
      code: '42P01',
    });
  });

  it('57014 statement timeout → timeout, not retryable', async () => {
    const error = await failure(() =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe('SET LOCAL statement_timeout = 50');
        await tx.$executeRawUnsafe('SELECT pg_sleep(2)');
      }),
    );
    expectKind(error, { kind: 'timeout', retryable: false, code: '57014' });
  });

  it('57P01 pg_terminate_backend mid-query → connection; the next statement ("not queryable") → connection', async () => {
    let first: unknown;
    const second = await failure(() =>
      prisma.$transaction(async (tx) => {
        const pid = await pidOf(tx);
        const killed = terminateBackend(stack.superuserUrl, pid);
        first = await failure(() => tx.$executeRawUnsafe('SELECT pg_sleep(5)'));
        await killed;
        await tx.$executeRawUnsafe('SELECT 1');
      }),
    );
    expectKind(first, { kind: 'connection', retryable: true });
    expect(['57P01', '08P01']).toContain(classifyError(first).code);
    expectKind(second, { kind: 'connection', retryable: true });
  });

  it('a connection lost during COMMIT → a DriverAdapterError classified as connection', async () => {
    const error = await failure(() =>
      prisma.$transaction(async (tx) => {
        await terminateBackend(stack.superuserUrl, await pidOf(tx));
      }),
    );
    expectKind(error, { kind: 'connection', retryable: true });
  });

  it('08P01 from a PgBouncer KILL → connection, a failover (retried until failoverTimeoutMs)', async () => {
    const victim = prismaOn(stack.poolerUrl);
    await victim.$queryRaw`SELECT 1`;
    const pending = failure(() => victim.$executeRawUnsafe('SELECT pg_sleep(5)'));
    await new Promise((r) => setTimeout(r, 200));
    await adminCommand(stack.adminUrl, 'KILL app');
    await adminCommand(stack.adminUrl, 'RESUME app');
    const error = await pending;
    expectKind(error, { kind: 'connection', retryable: true, code: '08P01', failover: true });
  });

  it('pg-pool acquire timeout ("timeout exceeded when trying to connect") → pool-timeout', async () => {
    const small = prismaOn(stack.poolerUrl, { max: 1, connectionTimeoutMillis: 200 });
    const release = await holdOnlyConnection(small);
    const error = await failure(() => small.$transaction(async (tx) => tx.$queryRaw`SELECT 1`, { maxWait: 5000 }));
    await release();
    expectKind(error, { kind: 'pool-timeout', retryable: false });
  });

  it('P2028 "Unable to start a transaction in the given time" (Prisma maxWait) → pool-timeout', async () => {
    const small = prismaOn(stack.poolerUrl, { max: 1, connectionTimeoutMillis: 10_000 });
    const release = await holdOnlyConnection(small);
    const error = await failure(() => small.$transaction(async (tx) => tx.$queryRaw`SELECT 1`, { maxWait: 100 }));
    await release();
    expectKind(error, { kind: 'pool-timeout', retryable: false, code: 'P2028' });
  });

  it('P2028 on an expired interactive transaction → transaction-closed (rolled back, not retried)', async () => {
    const error = await failure(() =>
      prisma.$transaction(
        async (tx) => {
          await new Promise((r) => setTimeout(r, 300));
          await tx.$queryRaw`SELECT 1`;
        },
        { timeout: 100 },
      ),
    );
    expectKind(error, { kind: 'transaction-closed', retryable: false, code: 'P2028' });
  });

  it('53300 too many connections (role connection limit) → too-many-connections', async () => {
    const role = `limited_${randomUUID().slice(0, 8)}`;
    await sql(stack.superuserUrl, `CREATE ROLE ${role} LOGIN PASSWORD 'pw' CONNECTION LIMIT 0`);
    try {
      const url = new URL(stack.directUrl);
      url.username = role;
      url.password = 'pw';
      expectKind(await failure(() => prismaOn(url.toString()).$queryRaw`SELECT 1`), {
        kind: 'too-many-connections',
        retryable: true,
        code: '53300',
      });
    } finally {
      await sql(stack.superuserUrl, `DROP ROLE ${role}`);
    }
  });

  it('28P01 wrong password → auth, not retryable', async () => {
    const url = new URL(stack.directUrl);
    url.password = 'wrong-password';
    expectKind(await failure(() => prismaOn(url.toString()).$queryRaw`SELECT 1`), { kind: 'auth', retryable: false });
  });

  it('a wrong password through PgBouncer (its 08P01 "SASL authentication failed") → auth, not retryable', async () => {
    const url = new URL(stack.poolerUrl);
    url.password = 'wrong-password';
    expectKind(await failure(() => prismaOn(url.toString()).$queryRaw`SELECT 1`), { kind: 'auth', retryable: false });
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => {});
    expectKind(await failure(() => client.connect()), { kind: 'auth', retryable: false });
  });

  it('connection refused (P1001 / ECONNREFUSED) → connection', async () => {
    const closed = await new Promise<number>((resolve) => {
      import('node:net').then(({ createServer }) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as { port: number };
          server.close(() => resolve(port));
        });
      });
    });
    const url = new URL(stack.directUrl);
    url.port = String(closed);
    const prismaError = await failure(() => prismaOn(url.toString()).$queryRaw`SELECT 1`);
    expectKind(prismaError, { kind: 'connection', retryable: true });
    const client = new pg.Client({ connectionString: url.toString() });
    expectKind(await failure(() => client.connect()), { kind: 'connection', retryable: true, code: 'ECONNREFUSED' });
  });

  it('"server conn crashed?" seen by a plain pg client through PgBouncer → connection', async () => {
    const client = new pg.Client({ connectionString: stack.poolerUrl });
    const events: unknown[] = [];
    client.on('error', (e) => events.push(e));
    await client.connect();
    // Inside a transaction, so PgBouncer keeps both statements on the same server connection.
    await client.query('BEGIN');
    const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
    const pending = failure(() => client.query('SELECT pg_sleep(5)'));
    await new Promise((r) => setTimeout(r, 100));
    await terminateBackend(stack.superuserUrl, pid);
    const error = await pending;
    // PgBouncer's own notice follows the forwarded 57P01 as a separate 'error' event.
    await vi.waitUntil(() => events.some((e) => /server conn crashed\?/.test(String((e as Error).message))), { timeout: 5000 });
    await client.end().catch(() => {});
    const all = [error, ...events];
    for (const e of all) expectKind(e, { kind: 'connection', retryable: true });
    expect(all.some((e) => /server conn crashed\?/.test(String((e as Error).message)))).toBe(true);
  });

  it('an application error thrown by the callback → application, never retried', async () => {
    class OutOfStock extends Error {}
    const error = await failure(() =>
      prisma.$transaction(async () => {
        throw new OutOfStock('no more widgets');
      }),
    );
    expect(error).toBeInstanceOf(OutOfStock);
    expectKind(error, { kind: 'application', retryable: false, code: null });
  });
});

describe('classifyError on PgBouncer limits (a stack with tiny limits)', () => {
  let tiny: LocalStack;
  beforeAll(async () => {
    tiny = await startStack({ defaultPoolSize: 1, maxClientConn: 2, pgbouncerSettings: { query_wait_timeout: 1 } });
  });
  afterAll(() => tiny?.stop());

  it('"no more connections allowed" (max_client_conn) → too-many-connections', async () => {
    const clients = Array.from({ length: 3 }, () => new pg.Client({ connectionString: tiny.poolerUrl }));
    const results = await Promise.allSettled(clients.map((c) => c.connect().then(() => c.query('SELECT 1'))));
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.some((r) => /no more connections allowed/.test(String(r.reason?.message)))).toBe(true);
    for (const r of rejected) expectKind(r.reason, { kind: 'too-many-connections', retryable: true });
  });

  it('query_wait_timeout (queued in PgBouncer too long) → pooler-timeout', async () => {
    const holder = new pg.Client({ connectionString: tiny.poolerUrl });
    const waiter = new pg.Client({ connectionString: tiny.poolerUrl });
    waiter.on('error', () => {});
    await holder.connect();
    await waiter.connect();
    await holder.query('BEGIN'); // holds the only server connection
    await holder.query('SELECT 1');
    const error = await failure(() => waiter.query('SELECT 1'));
    await holder.query('ROLLBACK');
    await holder.end();
    await waiter.end().catch(() => {});
    expect(String((error as Error).message)).toMatch(/query_wait_timeout/);
    expectKind(error, { kind: 'pooler-timeout', retryable: true });
  });
});
