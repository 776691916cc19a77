/**
 * The step every entry point shares: when no database is configured (DATABASE_URL unset), start the
 * local stack and point the environment at it — PgBouncer in transaction mode, the direct URL for
 * session mode, the admin console for the health report. Call it before the app singleton is first
 * used (it reads process.env then). Returns null when a database is configured.
 */
import { type LocalStack, type StackOptions, startStack } from './start-stack.ts';

export async function startStackUnlessConfigured(options: StackOptions = {}): Promise<LocalStack | null> {
  if (process.env.DATABASE_URL) return null;
  const stack = await startStack(options);
  exportStackEnv(stack);
  return stack;
}

/** Points this process's environment at `stack`: the app then runs in transaction mode through its PgBouncer. */
export function exportStackEnv(stack: LocalStack): void {
  process.env.DATABASE_URL = stack.poolerUrl;
  process.env.DATABASE_URL_SESSION = stack.directUrl;
  process.env.PGBOUNCER_ADMIN_URL = stack.adminUrl;
  process.env.USE_TRANSACTION_MODE = 'true';
}
