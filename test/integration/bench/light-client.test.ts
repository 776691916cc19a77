/**
 * The scale bench's light instance client (tools/bench/light-client.ts) does what it stands in for:
 * the whole cycle of operations through a manager and our adapter on the real stack, reads in
 * READ ONLY transactions, a failed callback rolled back, and the pool's connection really used.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConnectionPoolManager } from '~/manager/connection-pool-manager.ts';
import { createLightClient } from '../../../tools/bench/light-client.ts';
import { type LightManager, lightFirstRequest, runLightStep, seed } from '../../../tools/bench/workload.ts';
import { sql } from '../../support/managers.ts';

describe('the bench light client', () => {
  const stack = inject('stack');
  // Instance numbers far from other tests' rows; seed() creates users 1..N, so use a high one it created.
  const INSTANCE = 3;
  let manager: LightManager;

  beforeAll(async () => {
    await seed(stack.directUrl, INSTANCE);
    manager = createConnectionPoolManager({
      createClient: createLightClient,
      env: { DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true' },
    });
  });
  afterAll(() => manager?.disconnect());

  it("runs a whole cycle of the bench's operations, reads and writes landing where they should", async () => {
    const before = await sql<{ n: string }>(stack.directUrl, 'SELECT count(*) AS n FROM "ActivityLog" WHERE "userId" = $1', [
      String(INSTANCE),
    ]);
    expect(await lightFirstRequest(manager, INSTANCE)).toBe(1);
    for (let step = 0; step < 10; step++) await runLightStep(manager, INSTANCE, step);
    const after = await sql<{ n: string }>(stack.directUrl, 'SELECT count(*) AS n FROM "ActivityLog" WHERE "userId" = $1', [
      String(INSTANCE),
    ]);
    // Three writes in a cycle, one activity row each.
    expect(Number(after[0]?.n) - Number(before[0]?.n)).toBe(3);
    const metrics = manager.getMetrics();
    expect(metrics.failedQueries).toBe(0);
    expect(metrics.totalQueries).toBe(11);
  });

  it('reads run READ ONLY: a write inside readWithPooling fails with 25006', async () => {
    await expect(
      manager.readWithPooling((tx) => tx.query('UPDATE "User" SET "name" = $1 WHERE "id" = $1', String(INSTANCE))),
    ).rejects.toMatchObject({ cause: { originalCode: '25006' } });
  });

  it('a callback that throws rolls its transaction back', async () => {
    const name = `rolled back ${Date.now()}`;
    await expect(
      manager.writeWithPooling(async (tx) => {
        await tx.query('UPDATE "User" SET "name" = $1 WHERE "id" = $2', name, String(INSTANCE));
        throw new Error('callback failed');
      }),
    ).rejects.toThrow('callback failed');
    const rows = await sql<{ name: string }>(stack.directUrl, 'SELECT "name" FROM "User" WHERE "id" = $1', [String(INSTANCE)]);
    expect(rows[0]?.name).not.toBe(name);
  });
});
