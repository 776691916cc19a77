/**
 * Proves the path the whole product stands on: Prisma 7 + adapter-pg through PgBouncer in
 * transaction mode, and that named prepared statements really break there (so the guard that
 * keeps adapter-pg on unnamed statements in transaction mode is protecting against something real).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminCommand } from '../../../tools/stack/faults/pgbouncer-admin.ts';
import { bareClient } from '../../support/prisma.ts';

const stack = inject('stack');

describe('Prisma 7 + adapter-pg through PgBouncer (transaction mode)', () => {
  let client: ReturnType<typeof bareClient>;
  beforeAll(() => {
    client = bareClient(stack.poolerUrl, 3);
  });
  afterAll(() => client.close());

  it('talks to PgBouncer in transaction pool mode', async () => {
    const admin = new pg.Client({ connectionString: stack.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ database: string; pool_mode: string }>('SHOW POOLS');
      expect(rows.find((r) => r.database === 'app')?.pool_mode).toBe('transaction');
    } finally {
      await admin.end();
    }
  });

  it('runs an interactive Serializable transaction', async () => {
    const email = `serializable-${randomUUID()}@example.test`;
    const result = await client.prisma.$transaction(
      async (tx) => {
        const user = await tx.user.create({ data: { email, name: 'S' } });
        await tx.activityLog.create({ data: { userId: user.id, action: 'signup' } });
        const [{ level }] = await tx.$queryRaw<[{ level: string }]>`SELECT current_setting('transaction_isolation') AS level`;
        return { user, level };
      },
      { isolationLevel: 'Serializable' },
    );
    expect(result.level).toBe('serializable');
    const logs = await client.prisma.activityLog.count({ where: { userId: result.user.id } });
    expect(logs).toBe(1);
  });

  it('runs 200 concurrent transactions through 3 connections without error', async () => {
    const tag = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        client.prisma.$transaction(
          async (tx) => {
            const user = await tx.user.create({ data: { email: `c${i}-${tag}@example.test` } });
            const [{ n }] = await tx.$queryRaw<[{ n: number }]>`SELECT ${i}::int AS n`;
            return { user, n };
          },
          { maxWait: 30_000, timeout: 30_000 },
        ),
      ),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures).toEqual([]);
    expect(await client.prisma.user.count({ where: { email: { endsWith: `-${tag}@example.test` } } })).toBe(200);
  });

  it('breaks a client that uses named prepared statements where PgBouncer does not track them (1.18); runs it where it does (≥ 1.21)', async () => {
    const { rows } = await adminCommand<{ key: string; value: string }>(stack.adminUrl, 'SHOW CONFIG');
    const tracked = Number(rows.find((row) => row.key === 'max_prepared_statements')?.value ?? 0);
    // Two pg clients each prepare "s0"; PgBouncer may hand both the same server connection, or
    // hand one client's next transaction a server connection that never saw its statement.
    // Which server connection each transaction gets is PgBouncer's choice. One client after the
    // other, it hands out the server connection released last (server_round_robin = 0, its
    // default): the second client meets the first one's "s0". Concurrent rounds alone let every
    // client keep its own server now and then (2 CI runs of about 12 saw no error at all).
    const clients = Array.from({ length: 8 }, () => new pg.Client({ connectionString: stack.poolerUrl }));
    await Promise.all(clients.map((c) => c.connect()));
    const errors: string[] = [];
    try {
      const code = (error: unknown) => String((error as { code?: string }).code);
      for (let round = 0; round < 40 && errors.length < 20; round++) {
        for (const [i, c] of clients.entries())
          await c.query({ name: 's0', text: 'SELECT $1::int AS n', values: [i] }).catch((error: unknown) => errors.push(code(error)));
        const settled = await Promise.allSettled(clients.map((c, i) => c.query({ name: 's0', text: 'SELECT $1::int AS n', values: [i] })));
        for (const s of settled) if (s.status === 'rejected') errors.push(code(s.reason));
      }
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
    // PgBouncer ≥ 1.21 with max_prepared_statements > 0 (.ci/run's oldest-versions suite) prepares
    // each name on whichever server connection it hands out.
    if (tracked > 0) {
      expect(errors).toEqual([]);
      return;
    }
    // 42P05 "prepared statement already exists" or 26000 "does not exist".
    expect(errors.length).toBeGreaterThan(0);
    for (const code of errors) expect(['42P05', '26000']).toContain(code);
  });
});
