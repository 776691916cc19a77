/** Isolated managers on the shared stack, with this repo's generated client. */
import { PrismaClient } from '~/generated/prisma/client.ts';
import {
  type ConnectionPoolManager,
  type ConnectionPoolManagerOptions,
  createConnectionPoolManager,
} from '~/manager/connection-pool-manager.ts';
import { queryOnce } from '../../tools/lib/pg.ts';
import type { StackInfo } from './global-setup.ts';

export type AppClient = InstanceType<typeof PrismaClient>;
export type TestManager = ConnectionPoolManager<AppClient>;

/** Transaction mode through the stack's PgBouncer unless `env` says otherwise. */
export function testManager(
  stack: StackInfo,
  env: Record<string, string | undefined> = {},
  options: Omit<ConnectionPoolManagerOptions<AppClient>, 'createClient' | 'env'> = {},
): TestManager {
  return createConnectionPoolManager({
    createClient: (adapter) => new PrismaClient({ adapter }),
    env: { DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true', ...env },
    ...options,
  });
}

/** Runs SQL on a short-lived direct connection (fixtures, checks), outside anything under test. */
export const sql = queryOnce;

/** Terminates the server backend with this pid (Postgres superuser, direct). */
export async function terminateBackend(superuserUrl: string, pid: number): Promise<boolean> {
  const [row] = await sql<{ ok: boolean }>(superuserUrl, 'SELECT pg_terminate_backend($1) AS ok', [pid]);
  return row?.ok ?? false;
}
