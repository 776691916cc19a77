/**
 * Named prepared statements (`poolerTracksPreparedStatements: true`) through the stack's PgBouncer in
 * transaction mode: a PgBouncer that tracks them (≥ 1.21 with max_prepared_statements > 0) runs
 * every call; one that does not (1.18, or max_prepared_statements = 0) fails with a
 * PreparedStatementsNotTrackedError that names the option, not a raw 42P05 / 26000. The stack's
 * PgBouncer decides which (PGPOOL_PGBOUNCER_BIN picks it; .ci/run runs both). An adapter-pg older than
 * 7.6.0 (no `statementNameGenerator`; .ci/run's oldest-versions suite) names nothing: every call runs
 * on unnamed statements, and the manager says so once (PGPOOL_ADAPTER_NO_STATEMENT_NAMES).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { PreparedStatementsNotTrackedError } from '~/errors/errors.ts';
import { adminCommand } from '../../../tools/stack/faults/pgbouncer-admin.ts';
import { adapterNamesStatements } from '../../support/installed-versions.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
afterAll(() => Promise.all(managers.map((m) => m.disconnect())));

/** max_prepared_statements of the stack's PgBouncer; 0 where the setting does not exist (< 1.21). */
async function trackedStatements(): Promise<number> {
  const { rows } = await adminCommand<{ key: string; value: string }>(stack.adminUrl, 'SHOW CONFIG');
  return Number(rows.find((row) => row.key === 'max_prepared_statements')?.value ?? 0);
}

describe('named prepared statements through a transaction-mode PgBouncer', () => {
  it('run where the pooler tracks them, and fail naming poolerTracksPreparedStatements where it does not', async () => {
    const tracked = await trackedStatements();
    const warnings: string[] = [];
    const manager = testManager(
      stack,
      { INSTANCE_COUNT: '1', MAX_POOL_SIZE: '3' },
      { pool: { poolerTracksPreparedStatements: true }, onWarning: (w) => warnings.push(w.code) },
    );
    managers.push(manager);
    expect(manager.config.statementCache).toBe(true);
    // Three pool connections share PgBouncer's server connections: each client caches the names it
    // prepared, and the next transaction may land on a server connection that has (42P05) or lacks
    // (26000) them.
    const failures: unknown[] = [];
    let done = 0;
    for (let round = 0; round < 40 && failures.length === 0; round++) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          manager.withPooling(async (tx) => {
            await tx.$queryRawUnsafe(`SELECT ${i % 3}::int AS n`);
            return tx.$queryRawUnsafe(`SELECT ${(i + 1) % 3}::int AS m`);
          }),
        ),
      );
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') failures.push(outcome.reason);
        else done++;
      }
    }
    expect(warnings.includes('PGPOOL_ADAPTER_NO_STATEMENT_NAMES')).toBe(!adapterNamesStatements);
    if (tracked > 0 || !adapterNamesStatements) {
      expect(failures).toEqual([]);
      expect(done).toBe(240);
    } else {
      expect(failures.length).toBeGreaterThan(0);
      const error = failures[0];
      expect(error).toBeInstanceOf(PreparedStatementsNotTrackedError);
      expect((error as Error).message).toMatch(
        /^poolerTracksPreparedStatements: named prepared statements are on, and the pooler does not track them \((42P05|26000) /,
      );
      expect(classifyError(error)).toMatchObject({ kind: 'config', retryable: false });
    }
  });
});

describe('plain writes through manager.prisma on named statements (their implicit transaction: Parse, Flush, then Sync)', () => {
  it('each write commits once where the pooler tracks the names; where it does not, a failed write names the option and wrote nothing', async () => {
    const tracked = await trackedStatements();
    const manager = testManager(stack, { INSTANCE_COUNT: '1', MAX_POOL_SIZE: '3' }, { pool: { poolerTracksPreparedStatements: true } });
    managers.push(manager);
    const run = `named-plain-${randomUUID()}`;
    await sql(stack.directUrl, `INSERT INTO "User" ("id", "email", "name") VALUES ($1, $1 || '@named.test', 'named')`, [run]);
    const outcomes: { action: string; ok: boolean; error?: unknown }[] = [];
    for (let round = 0; round < 10; round++) {
      const settled = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => manager.prisma.activityLog.create({ data: { userId: run, action: `${run}:${round}:${i}` } })),
      );
      for (const [i, outcome] of settled.entries()) {
        outcomes.push({
          action: `${run}:${round}:${i}`,
          ok: outcome.status === 'fulfilled',
          error: outcome.status === 'rejected' ? outcome.reason : undefined,
        });
      }
    }
    const written = new Map(
      (
        await sql<{ action: string; n: number }>(
          stack.directUrl,
          `SELECT action, count(*)::int AS n FROM "ActivityLog" WHERE action LIKE $1 GROUP BY action`,
          [`${run}:%`],
        )
      ).map((row) => [row.action, row.n]),
    );
    for (const outcome of outcomes) {
      expect(written.get(outcome.action) ?? 0).toBe(outcome.ok ? 1 : 0);
      if (!outcome.ok) expect(outcome.error).toBeInstanceOf(PreparedStatementsNotTrackedError);
    }
    if (tracked > 0 || !adapterNamesStatements) expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  });
});
