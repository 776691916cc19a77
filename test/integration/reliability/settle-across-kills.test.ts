/**
 * Settling a lost COMMIT through a PgBouncer that cuts the settlement's own logins
 * (src/transaction/settle-outcome.ts): each login cut by a `KILL` is followed by another question
 * within the bound, and the answer is the database's. On a stack of its own (KILL drops every
 * client of `app`). Under a KILL loop, a settlement that gave up after a cut, or waited out the
 * next window, was the source of the plain writes' unknown outcomes (docs/reliability.md).
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connected, createSettleOutcome, type SettleConnection } from '~/transaction/settle-outcome.ts';
import { withClient } from '../../../tools/lib/pg.ts';
import { kill, resume, showClients } from '../../../tools/stack/faults/index.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';

let own: LocalStack;
beforeAll(async () => {
  own = await startStack();
}, 60_000);
afterAll(async () => {
  // A failed test may leave `app` paused; "not paused" is fine.
  await resume(own?.adminUrl ?? '', 'app').catch(() => {});
  await own?.stop();
});

/** A transaction ended with `end`, straight to Postgres: its id and the server's start time. */
async function transaction(end: 'COMMIT' | 'ROLLBACK'): Promise<{ id: string; started: string }> {
  return withClient(own.directUrl, async (client) => {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: string; started: string }>(
      'SELECT pg_current_xact_id()::text AS id, pg_postmaster_start_time()::text AS started',
    );
    await client.query(end);
    const row = rows[0];
    if (!row) throw new Error('no transaction id');
    return row;
  });
}

/** Waits (bounded) until PgBouncer holds a client of `app` that has logged in and waits for its server. */
async function settlementWaiting(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const clients = await showClients(own.adminUrl);
    if (clients.some((c) => c.database === 'app' && c.state !== 'login')) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the settlement never logged in again');
}

it.each([
  ['COMMIT', 'committed'],
  ['ROLLBACK', 'aborted'],
] as const)('a transaction ended with %s settles %s after three KILLs cut its questions', async (end, expected) => {
  const tx = await transaction(end);
  let connects = 0;
  const settle = createSettleOutcome({
    connect: async (): Promise<SettleConnection> => {
      connects++;
      const client = new pg.Client({ connectionString: own.poolerUrl });
      client.on('error', () => {});
      return connected(client);
    },
    timeoutMs: 30_000,
  });
  // KILL leaves `app` paused: the settlement's login waits there until the next KILL cuts it.
  await kill(own.adminUrl, 'app');
  const answer = settle(tx.id, tx.started);
  for (let cut = 0; cut < 3; cut++) {
    await settlementWaiting();
    await kill(own.adminUrl, 'app');
  }
  await settlementWaiting();
  await resume(own.adminUrl, 'app');
  expect(await answer).toBe(expected);
  // One question per cut login, and the one that got the answer.
  expect(connects).toBe(4);
});
