/**
 * A plain write committed in PostgreSQL's implicit transaction (src/adapter/implicit-write.ts),
 * through PgBouncer in transaction mode: the id asked for is the
 * id of the transaction that wrote the row, a failed statement leaves its connection idle, and a
 * statement whose answer the adapter cannot return is rolled back rather than committed. Each case
 * runs on one pool connection, so a connection left inside a transaction would fail the next call.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createOutcomeRecord, runWithOutcomeRecord } from '~/adapter/outcome-record.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
let m: TestManager;
const userId = `iw-${randomUUID()}`;

beforeAll(async () => {
  m = testManager(stack, {}, { pool: { connectionLimit: 1 } });
  await sql(stack.directUrl, `INSERT INTO "User" ("id", "email", "name") VALUES ($1, $1 || '@iw.test', 'iw')`, [userId]);
});
afterAll(async () => {
  await m?.disconnect();
});

async function postsTitled(title: string): Promise<number> {
  const [row] = await sql<{ n: number }>(stack.directUrl, `SELECT count(*)::int AS n FROM "Post" WHERE title = $1`, [title]);
  return row?.n ?? -1;
}

it.each(['confirmed', 'one-flight'] as const)(
  '%s: the id the write asked for is the id of the transaction that wrote the row (xmin), and COMMIT was answered',
  async (plainWriteCommit) => {
    const record = createOutcomeRecord({ settle: async () => 'unknown', plainWriteCommit });
    const title = `xmin-${plainWriteCommit}-${randomUUID()}`;
    await runWithOutcomeRecord(record, async () => await m.client.post.create({ data: { userId, title } }));
    const [row] = await sql<{ xmin: string; epoch: string }>(
      stack.directUrl,
      `SELECT xmin::text AS xmin, (pg_current_xact_id()::text::numeric / 4294967296)::bigint::text AS epoch FROM "Post" WHERE title = $1`,
      [title],
    );
    // xmin is the 32-bit xid; pg_current_xact_id() the 64-bit one (epoch · 2^32 + xid).
    expect(BigInt(record.xid ?? '-1')).toBe(BigInt(row?.epoch ?? '0') * 4294967296n + BigInt(row?.xmin ?? '-2'));
    expect(record).toMatchObject({ began: true, commitSent: true, commitAnswered: true, resultReceived: true, settled: null });
  },
);

it('a failed statement (unique violation) is the error Prisma gives; the connection comes back idle', async () => {
  const email = `dup-${randomUUID()}@iw.test`;
  await m.prisma.user.create({ data: { email } });
  await expect(m.prisma.user.create({ data: { email } })).rejects.toMatchObject({ code: 'P2002' });
  // The next write on the same (only) connection commits: nothing was left open on it.
  const title = `after-dup-${randomUUID()}`;
  await m.prisma.post.create({ data: { userId, title } });
  expect(await postsTitled(title)).toBe(1);
});

it('a write whose answer adapter-pg cannot convert fails, and is rolled back rather than committed', async () => {
  // $queryRaw runs as a read first, meets READ ONLY (25006) and runs once as a write: the INSERT
  // succeeds, then adapter-pg refuses the `point` column (UnsupportedNativeDataType) before COMMIT.
  const title = `unconvertible-${randomUUID()}`;
  const id = randomUUID();
  await expect(
    m.prisma.$queryRaw`INSERT INTO "Post" ("id", "userId", "title") VALUES (${id}, ${userId}, ${title}) RETURNING point(1, 2) AS p`,
  ).rejects.toThrow();
  expect(await postsTitled(title)).toBe(0);
  const next = `after-rollback-${randomUUID()}`;
  await m.prisma.post.create({ data: { userId, title: next } });
  expect(await postsTitled(next)).toBe(1);
});

it('session mode, named statements: a write whose statement failed to parse (its table did not exist yet) parses it again next time', async () => {
  const table = `iw_later_${randomUUID().replaceAll('-', '')}`;
  const session = testManager(
    stack,
    { DATABASE_URL: `${stack.directUrl}?statement_cache_size=100`, USE_TRANSACTION_MODE: 'false' },
    { pool: { connectionLimit: 1 } },
  );
  try {
    const insert = () => session.prisma.$executeRawUnsafe(`INSERT INTO ${table} (v) VALUES ($1)`, 'v');
    await expect(insert()).rejects.toThrow(/does not exist/);
    await sql(stack.superuserUrl, `CREATE TABLE ${table} (v text); GRANT ALL ON ${table} TO app`);
    // On the same (only) connection: had the failed Parse left the name recorded as parsed, this
    // would bind a statement the server never prepared (26000).
    expect(await insert()).toBe(1);
    const [row] = await sql<{ n: number }>(stack.directUrl, `SELECT count(*)::int AS n FROM ${table}`);
    expect(row?.n).toBe(1);
  } finally {
    await session.disconnect();
    await sql(stack.superuserUrl, `DROP TABLE IF EXISTS ${table}`);
  }
});

it('a statement that fails (unique violation) leaves its connection in the pool: the next call runs on the same backend', async () => {
  const session = testManager(stack, { DATABASE_URL: stack.directUrl, USE_TRANSACTION_MODE: 'false' }, { pool: { connectionLimit: 1 } });
  try {
    const backend = async () => (await session.prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]?.pid;
    const email = `same-backend-${randomUUID()}@iw.test`;
    await session.prisma.user.create({ data: { email } });
    const before = await backend();
    await expect(session.prisma.user.create({ data: { email } })).rejects.toMatchObject({ code: 'P2002' });
    expect(await backend()).toBe(before);
  } finally {
    await session.disconnect();
  }
});

it.each(['confirmed', 'one-flight'] as const)(
  '%s: a statement PostgreSQL runs only outside a transaction block ($executeRaw VACUUM) runs, alone, as the bare client runs it',
  async (plainWriteCommit) => {
    const table = `iw_vacuum_${randomUUID().replaceAll('-', '')}`;
    const writes = testManager(stack, {}, { pool: { connectionLimit: 1 }, plainWriteCommit });
    try {
      await sql(stack.superuserUrl, `CREATE TABLE ${table} (v text); ALTER TABLE ${table} OWNER TO app`);
      // In the id question's implicit transaction PostgreSQL refuses it (25001, nothing done).
      expect(await writes.prisma.$executeRawUnsafe(`VACUUM ${table}`)).toBe(0);
      const vacuumed = async () =>
        (
          await sql<{ n: number }>(stack.superuserUrl, `SELECT vacuum_count::int AS n FROM pg_stat_all_tables WHERE relname = $1`, [table])
        )[0]?.n;
      await expect.poll(vacuumed, { timeout: 5_000 }).toBe(1);
      // The connection went back fit: the next plain write commits on it.
      const title = `after-vacuum-${plainWriteCommit}-${randomUUID()}`;
      await writes.prisma.post.create({ data: { userId, title } });
      expect(await postsTitled(title)).toBe(1);
    } finally {
      await writes.disconnect();
      await sql(stack.superuserUrl, `DROP TABLE IF EXISTS ${table}`);
    }
  },
);
