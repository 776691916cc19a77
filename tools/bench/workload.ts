/**
 * The transaction mix every simulated instance runs, and the rows it runs on.
 *
 * Instance `i` owns user `i`, workspace `w<i>` with two pages of three blocks each, so writes
 * touch per-instance rows: the bench measures pooling, not a hot-row serialization storm (the
 * retry budget for that is in docs/wrappers.md). A cycle of ten operations: six reads
 * (`readWithPooling`), three writes (`writeWithPooling`, Serializable) and one two-statement
 * `batchWithPooling` (one transaction); each instance starts at its own point of the cycle.
 */
import pg from 'pg';
import type { SqlDriverAdapterFactory } from '../../src/adapter/create-adapter.ts';
import { PrismaClient } from '../../src/generated/prisma/client.ts';
import type { ConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import type { LightClient } from './light-client.ts';

export type AppClient = InstanceType<typeof PrismaClient>;
export type AppManager = ConnectionPoolManager<AppClient>;
export type LightManager = ConnectionPoolManager<LightClient>;

export const createAppClient = (adapter: SqlDriverAdapterFactory): AppClient => new PrismaClient({ adapter });

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

/**
 * The light simulation's cycle (tools/bench/light-client.ts): the same operations as runStep, as the SQL
 * Prisma 7 sends for them (one statement per model call; `include` as a second query), in the same wrappers.
 */
export function runLightStep(manager: LightManager, instance: number, step: number): Promise<unknown> {
  const id = String(instance);
  switch (stepKind(step)) {
    case 'read':
      return step % 2 === 0
        ? manager.readWithPooling((tx) => tx.query(LIGHT_SQL.findUser, id))
        : manager.readWithPooling(async (tx) => {
            await tx.query(LIGHT_SQL.findPages, `w${id}`);
            return tx.query(LIGHT_SQL.findBlocks, `p${id}-1`, `p${id}-2`);
          });
    case 'write':
      return manager.writeWithPooling(async (tx) => {
        await tx.query(LIGHT_SQL.touchUser, id);
        return tx.query(LIGHT_SQL.logActivity, id);
      });
    case 'batch':
      return manager.batchWithPooling([(tx) => tx.query(LIGHT_SQL.createPost, id), (tx) => tx.query(LIGHT_SQL.renameUser, id)]);
  }
}

/** An instance's first request in the light simulation: its own user, as the Prisma one reads it. */
export const lightFirstRequest = (manager: LightManager, instance: number): Promise<unknown> =>
  manager.readWithPooling((tx) => tx.query(LIGHT_SQL.findUser, String(instance)));

const USER_COLUMNS = '"id", "email", "name", "lastActive", "createdAt"';
const LIGHT_SQL = {
  findUser: `SELECT ${USER_COLUMNS} FROM "public"."User" WHERE "id" = $1 LIMIT 1`,
  findPages: 'SELECT "id", "workspaceId", "title", "createdAt" FROM "public"."Page" WHERE "workspaceId" = $1',
  findBlocks: 'SELECT "id", "pageId", "position", "content" FROM "public"."Block" WHERE "pageId" IN ($1, $2)',
  touchUser: `UPDATE "public"."User" SET "lastActive" = now() WHERE "id" = $1 RETURNING ${USER_COLUMNS}`,
  logActivity:
    'INSERT INTO "public"."ActivityLog" ("id", "userId", "action", "createdAt") VALUES (gen_random_uuid()::text, $1, \'bench\', now()) RETURNING "id", "userId", "action", "createdAt"',
  createPost:
    'INSERT INTO "public"."Post" ("id", "userId", "title", "createdAt") VALUES (gen_random_uuid()::text, $1, \'bench post\', now()) RETURNING "id", "userId", "title", "createdAt"',
  renameUser: `UPDATE "public"."User" SET "name" = 'user ' || $1 WHERE "id" = $1 RETURNING ${USER_COLUMNS}`,
} as const;
