/**
 * `npm run docs:observability`: starts the local stack, runs real wrapper operations through the
 * app singleton (plain reads and writes through `connectionPoolManager.prisma`, wrapped reads,
 * Serializable writes with one real serialization conflict, batches, one unique-constraint failure),
 * then writes a real `getHealth()` response and the main fields of a real `getMetrics()` object (the
 * rest is listed in docs/reference.md) into docs/health-and-metrics.md between the `health` and
 * `metrics` markers, each with the command and the date. Nothing here is typed by hand.
 */
import { randomUUID } from 'node:crypto';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { startStack } from '../stack/start-stack.ts';
import { exportStackEnv } from '../stack/use-local-stack.ts';

const DOC = 'docs/health-and-metrics.md';
const stack = await startStack({ log: (line) => console.error(line) });
try {
  exportStackEnv(stack);
  // Imported only now: the singleton reads process.env at first use.
  const app = await import('../../src/services/connection-pool-manager.server.ts');
  const { connectionPoolManager, withPooling, readWithPooling, writeWithPooling, batchWithPooling, prisma } = app;
  try {
    const tag = randomUUID().slice(0, 8);
    const users = await batchWithPooling(
      Array.from({ length: 6 }, (_, i) => (tx) => tx.user.create({ data: { email: `user${i}-${tag}@example.com`, name: `User ${i}` } })),
      { parallel: true },
    );
    const owner = users[0];
    if (!owner) throw new Error('no user created');
    const { workspace } = await writeWithPooling(async (tx) => {
      const workspace = await tx.workspace.create({ data: { name: `Workspace ${tag}`, ownerId: owner.id } });
      for (let p = 0; p < 3; p++) {
        await tx.page.create({
          data: { workspaceId: workspace.id, title: `Page ${p}`, blocks: { create: [{ position: 0, content: 'hello' }] } },
        });
      }
      return { workspace };
    });
    await batchWithPooling([
      (tx) => tx.activityLog.create({ data: { userId: owner.id, action: 'login' } }),
      (tx) => tx.post.create({ data: { userId: owner.id, title: 'First post' } }),
    ]);
    // Concurrent reads and lookups, as a page load would do.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? readWithPooling((tx) => tx.page.findMany({ where: { workspaceId: workspace.id }, include: { blocks: true } }))
          : withPooling((tx) => tx.user.findUnique({ where: { id: users[i % users.length]?.id ?? owner.id } })),
      ),
    );
    // Plain calls, as most app code makes them: counted as plain-read / plain-write.
    for (let i = 0; i < 10; i++) await prisma.page.findMany({ where: { workspaceId: workspace.id }, take: 5 });
    for (let i = 0; i < 3; i++) await prisma.activityLog.create({ data: { userId: owner.id, action: `view-${i}` } });
    // One real serialization conflict: both transactions read the row before either writes.
    let arrived = 0;
    let release: () => void = () => {};
    const barrier = new Promise<void>((resolve) => {
      release = resolve;
    });
    await Promise.all(
      [0, 1].map(() =>
        writeWithPooling(async (tx, { attempt }) => {
          const user = await tx.user.findUniqueOrThrow({ where: { id: owner.id } });
          if (attempt === 1) {
            arrived += 1;
            if (arrived === 2) release();
            await barrier;
          }
          return tx.user.update({ where: { id: user.id }, data: { lastActive: new Date(), name: `${user.name ?? ''}!` } });
        }),
      ),
    );
    // One failure the app would see: a duplicate email (a constraint error, never retried).
    await writeWithPooling((tx) => tx.user.create({ data: { email: owner.email } })).catch(() => {});

    const health = await connectionPoolManager.getHealth();
    const metrics = connectionPoolManager.getMetrics();
    const date = new Date().toISOString().slice(0, 10);
    const block = (value: unknown, what: string) =>
      `${what} from \`npm run docs:observability\` on ${date} (the local stack on a shared 2-core machine: compare the figures with each other, not with a production database):\n\n\`\`\`json\n${JSON.stringify(value, null, 2)}\n\`\`\``;
    // The fields a dashboard starts from; every other field is in docs/reference.md.
    const kinds = ['read', 'write', 'plain-read', 'plain-write'] as const;
    const sample = {
      totalQueries: metrics.totalQueries,
      failedQueries: metrics.failedQueries,
      retries: metrics.retries,
      p50Latency: metrics.p50Latency,
      p95Latency: metrics.p95Latency,
      p99Latency: metrics.p99Latency,
      byKind: Object.fromEntries(
        kinds.map((kind) => {
          const k = metrics.byKind[kind];
          return [kind, { totalQueries: k.totalQueries, failedQueries: k.failedQueries, retries: k.retries, p95Latency: k.p95Latency }];
        }),
      ),
      errorsByKind: metrics.errorsByKind,
      retriesByKind: metrics.retriesByKind,
      poolWaits: metrics.poolWaits,
      poolTimeouts: metrics.poolTimeouts,
      outcomeUnknown: metrics.outcomeUnknown,
      pool: metrics.pool,
    };
    const blocks = { health: block(health, 'A `getHealth()` response'), metrics: block(sample, 'The main fields of `getMetrics()`') };
    if (JSON.stringify(blocks).includes(new URL(stack.poolerUrl).password))
      throw new Error('refusing to write: the output contains the password');
    updateGeneratedBlocks(DOC, blocks);
    console.error(`${DOC} updated: health ${health.status}, ${metrics.totalQueries} operations, ${metrics.retries} retries`);
  } finally {
    await connectionPoolManager.disconnect();
  }
} finally {
  await stack.stop();
}
