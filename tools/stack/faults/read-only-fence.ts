/**
 * A read-only fence: the primary keeps running but refuses writes for a while, as a demoted old
 * primary still behind a cluster endpoint (or stale DNS) does, or a fencing step of a switchover.
 * `default_transaction_read_only` through `ALTER SYSTEM` + `pg_reload_conf()` reaches every
 * session, the open ones included, at its next transaction (PostgreSQL docs, "ALTER SYSTEM":
 * settings take effect on reload). A write in a transaction that did not ask for READ WRITE then
 * fails with 25006.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { withClient } from '../../lib/pg.ts';

async function setReadOnly(superuserUrl: string, on: boolean): Promise<void> {
  await withClient(
    superuserUrl,
    async (client) => {
      await client.query(on ? 'ALTER SYSTEM SET default_transaction_read_only = on' : 'ALTER SYSTEM RESET default_transaction_read_only');
      await client.query('SELECT pg_reload_conf()');
    },
    { applicationName: 'fence' },
  );
}

export interface FenceTimings {
  readonly fencedAt: number;
  readonly liftedAt: number;
}

/** Fences the server read-only for `durationMs`, then lifts the fence (also when the wait is interrupted). */
export async function fenceReadOnly(superuserUrl: string, durationMs: number): Promise<FenceTimings> {
  await setReadOnly(superuserUrl, true);
  const fencedAt = performance.now();
  try {
    await sleep(durationMs);
  } finally {
    await setReadOnly(superuserUrl, false);
  }
  return { fencedAt, liftedAt: performance.now() };
}
