/**
 * The transaction mix every simulated instance runs, and the rows it runs on.
 *
 * Instance `i` owns user `i`, workspace `w<i>` with two pages of three blocks each, so writes
 * touch per-instance rows: the bench measures pooling, not a hot-row serialization storm (the
 * retry budget for that is in docs/wrappers.md). A cycle of ten operations: six reads
 * (`readWithPooling`), three writes (`writeWithPooling`, Serializable) and one two-statement
 * `batchWithPooling` (one transaction); each instance starts at its own point of the cycle.
 */
import type { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../../src/generated/prisma/client.ts';
import type { ConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';

export type AppClient = InstanceType<typeof PrismaClient>;
export type AppManager = ConnectionPoolManager<AppClient>;

export const createAppClient = (adapter: PrismaPg): AppClient => new PrismaClient({ adapter });

/** The one statement shared by the overhead comparisons (raw pg, raw Prisma, wrapper, pgbench). */
export const POINT_SELECT_SQL = 'SELECT "id", "lastActive" FROM "User" WHERE "id" = $1::text';
/** The same statement for pgbench (`:id` is its variable syntax). */
export const POINT_SELECT_PGBENCH = `\\set id random(1, :users)\nBEGIN;\nSELECT "id", "lastActive" FROM "User" WHERE "id" = :id::text;\nCOMMIT;\n`;

/** Idempotent: creates rows for instances 1..count that are not there yet. */
export async function seed(directUrl: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO "User" ("id", "email", "name") SELECT i::text, 'user' || i || '@bench.test', 'user ' || i
       FROM generate_series(1, $1::int) i ON CONFLICT DO NOTHING`,
      [count],
    );
    await client.query(
      `INSERT INTO "Workspace" ("id", "name", "ownerId") SELECT 'w' || i, 'workspace ' || i, i::text
       FROM generate_series(1, $1::int) i ON CONFLICT DO NOTHING`,
      [count],
    );
    await client.query(
      `INSERT INTO "Page" ("id", "workspaceId", "title") SELECT 'p' || i || '-' || p, 'w' || i, 'page ' || p
       FROM generate_series(1, $1::int) i, generate_series(1, 2) p ON CONFLICT DO NOTHING`,
      [count],
    );
    await client.query(
      `INSERT INTO "Block" ("id", "pageId", "position", "content") SELECT 'b' || i || '-' || p || '-' || b, 'p' || i || '-' || p, b, repeat('x', 200)
       FROM generate_series(1, $1::int) i, generate_series(1, 2) p, generate_series(1, 3) b ON CONFLICT DO NOTHING`,
      [count],
    );
    await client.query('COMMIT');
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

export type StepKind = 'read' | 'write' | 'batch';
const CYCLE: readonly StepKind[] = ['read', 'write', 'read', 'read', 'write', 'read', 'batch', 'read', 'write', 'read'];

export function stepKind(step: number): StepKind {
  return CYCLE[step % CYCLE.length] ?? 'read';
}

/** One operation of instance `instance` at position `step` of its cycle, through our wrappers. */
export function runStep(manager: AppManager, instance: number, step: number): Promise<unknown> {
  const id = String(instance);
  switch (stepKind(step)) {
    case 'read':
      return step % 2 === 0
        ? manager.readWithPooling((tx) => tx.user.findUnique({ where: { id } }))
        : manager.readWithPooling((tx) => tx.page.findMany({ where: { workspaceId: `w${id}` }, include: { blocks: true } }));
    case 'write':
      return manager.writeWithPooling(async (tx) => {
        const user = await tx.user.update({ where: { id }, data: { lastActive: new Date() } });
        await tx.activityLog.create({ data: { userId: user.id, action: 'bench' } });
        return user;
      });
    case 'batch':
      return manager.batchWithPooling([
        (tx) => tx.post.create({ data: { userId: id, title: 'bench post' } }),
        (tx) => tx.user.update({ where: { id }, data: { name: `user ${id}` } }),
      ]);
  }
}
