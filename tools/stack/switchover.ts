/**
 * A primary switchover on the local stack, as managed platforms and Patroni do it: the primary
 * stops (fast shutdown: sessions get 57P01, the rest of the WAL goes to the standby), the hot
 * standby is promoted, and PgBouncer is pointed at it with `RELOAD` a little later. Between the
 * stop and the reload, clients of the pooler wait (PgBouncer holds them while it has no server)
 * and direct connections are refused.
 *
 * Promotion is `pg_promote(wait => true)` (PostgreSQL docs, "Recovery Control Functions"): the
 * SQL form of `pg_ctl promote`, with no process to run as the `postgres` user, and it returns once
 * the standby accepts writes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { withClient } from '../lib/pg.ts';
import type { LocalStack } from './start-stack.ts';

export interface SwitchoverOptions {
  /** Wait between the promotion and PgBouncer's `RELOAD`, ms. Defaults to 1000. */
  reloadDelayMs?: number;
  /** Wait between stopping the primary and promoting the standby, ms. Defaults to 0. */
  promoteDelayMs?: number;
}

export interface SwitchoverTimings {
  /** performance.now() when the primary began its shutdown. */
  readonly stoppedAt: number;
  /** performance.now() when the standby accepted writes. */
  readonly promotedAt: number;
  /** performance.now() when PgBouncer had reloaded onto the new primary. */
  readonly reloadedAt: number;
}

/** The superuser URL of the stack, on another port (the standby is a copy: same users, same passwords). */
export function superuserUrlOn(stack: LocalStack, port: number): string {
  const url = new URL(stack.superuserUrl);
  url.port = String(port);
  return url.toString();
}

/** Stops the primary, promotes the standby, retargets PgBouncer. The stack must have been started with `standby`. */
export async function switchover(stack: LocalStack, options: SwitchoverOptions = {}): Promise<SwitchoverTimings> {
  const standby = stack.standby;
  if (!standby) throw new TypeError('switchover: the stack has no standby (start it with { standby: {} })');
  const stoppedAt = performance.now();
  await stack.stopPostgres('fast');
  if (options.promoteDelayMs) await sleep(options.promoteDelayMs);
  await withClient(
    superuserUrlOn(stack, standby.port),
    async (client) => {
      const { rows } = await client.query<{ promoted: boolean }>('SELECT pg_promote(true, 30) AS promoted');
      if (rows[0]?.promoted !== true) throw new Error('switchover: pg_promote() did not finish within 30 s');
    },
    { applicationName: 'switchover' },
  );
  const promotedAt = performance.now();
  await sleep(options.reloadDelayMs ?? 1000);
  await stack.retargetPooler(standby.port);
  return { stoppedAt, promotedAt, reloadedAt: performance.now() };
}
