/**
 * The usage from DESIGN.md, verbatim, through the app singleton, on the real stack in transaction
 * mode. The singleton reads process.env at first use, so the env is set before the import.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';

const stack = inject('stack');

describe('DESIGN.md usage, verbatim', () => {
  let mod: typeof import('~/services/connection-pool-manager.server');

  beforeAll(async () => {
    process.env.DATABASE_URL = stack.poolerUrl;
    process.env.USE_TRANSACTION_MODE = 'true';
    mod = await import('~/services/connection-pool-manager.server');
  });
  afterAll(async () => {
    await mod.connectionPoolManager.disconnect();
    delete process.env.DATABASE_URL;
    delete process.env.USE_TRANSACTION_MODE;
  });

  it('runs every wrapper as the seed shows and counts them', async () => {
    const { withPooling, batchWithPooling, readWithPooling, writeWithPooling, connectionPoolManager } = mod;
    const seedUser = await connectionPoolManager.client.user.create({ data: { email: `seed-${randomUUID()}@example.test` } });
    const id = seedUser.id;
    const workspace = await connectionPoolManager.client.workspace.create({ data: { name: 'Seed' } });
    const workspaceId = workspace.id;
    const userData = { email: `batch-${randomUUID()}@example.test`, name: 'Batch' };
    const workspaceData = { name: 'Batch workspace' };
    const pageData = { title: 'Batch page', workspaceId };

    const user = await withPooling(async (tx) => tx.user.findUnique({ where: { id } }));
    const results = await batchWithPooling(
      [
        (tx) => tx.user.create({ data: userData }),
        (tx) => tx.workspace.create({ data: workspaceData }),
        (tx) => tx.page.create({ data: pageData }),
      ],
      { parallel: true },
    );
    const pages = await readWithPooling(async (tx) => tx.page.findMany({ where: { workspaceId }, include: { blocks: true } }));
    const result = await writeWithPooling(async (tx) => {
      const user = await tx.user.update({ where: { id }, data: { lastActive: new Date() } });
      await tx.activityLog.create({ data: { userId: user.id, action: 'login' } });
      return user;
    });
    const { totalQueries, failedQueries, avgLatency, p95Latency, p99Latency } = connectionPoolManager.getMetrics();

    expect(user?.id).toBe(id);
    expect(results).toHaveLength(3);
    expect((results[0] as { email: string }).email).toBe(userData.email);
    expect((results[2] as { title: string }).title).toBe('Batch page');
    expect(pages.map((p) => p.title)).toEqual(['Batch page']);
    expect(pages[0]?.blocks).toEqual([]);
    expect(result.lastActive).toBeInstanceOf(Date);
    expect(await connectionPoolManager.client.activityLog.count({ where: { userId: id, action: 'login' } })).toBe(1);
    expect(totalQueries).toBe(4);
    expect(failedQueries).toBe(0);
    expect(avgLatency).toBeGreaterThan(0);
    expect(p99Latency).toBeGreaterThanOrEqual(p95Latency);
    expect(connectionPoolManager.config.mode).toBe('transaction');
  });

  it('survives module re-evaluation (hot reload) without a second manager or pool', async () => {
    const before = mod.connectionPoolManager;
    const poolBefore = before.pool;
    vi.resetModules();
    const again = await import('~/services/connection-pool-manager.server');
    expect(again.connectionPoolManager).toBe(before);
    expect(again.connectionPoolManager.pool).toBe(poolBefore);
  });
});
