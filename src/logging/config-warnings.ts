/**
 * Configuration warnings a deployment can see: each is emitted once per process through
 * `process.emitWarning` (as node-postgres does for its SSL notice), so it reaches the platform's
 * logs without DEBUG set, and `node --no-warnings` or a `process.on('warning')` handler governs it
 * like any other. Each has a code of its own, so an app can filter one:
 * `process.on('warning', (w) => w.code === 'PGPOOL_TLS_UNVERIFIED' && …)`.
 *
 * The messages are our own (src/config/): they name variables and parameters, never a URL or a
 * password. Codes are given by the message's own wording, in this one table; a new warning without
 * a row gets `PGPOOL_CONFIG`.
 */

export const WARNING_TYPE = 'PrismaPgbouncerPoolingWarning';

const CODES: readonly [RegExp, string][] = [
  [/exceeds MAX_POOL_SIZE/, 'PGPOOL_BUDGET_EXCEEDED'],
  [/session mode through/, 'PGPOOL_SESSION_THROUGH_POOLER'],
  [/Supavisor needs the user/, 'PGPOOL_SUPAVISOR_USER'],
  [/is neither 5432 \(PostgreSQL\) nor 6543/, 'PGPOOL_UNKNOWN_PORT'],
  [/does not verify the server certificate/, 'PGPOOL_TLS_UNVERIFIED'],
];

/** The code of one of our configuration warnings. */
export function configWarningCode(message: string): string {
  for (const [pattern, code] of CODES) if (pattern.test(message)) return code;
  return 'PGPOOL_CONFIG';
}

const emitted = new Set<string>();

/** Emits each message once per process (a second manager with the same configuration stays quiet). */
export function emitConfigWarnings(messages: readonly (string | null)[]): void {
  // Runtimes without Node's process object (an edge bundle) have nowhere to send them.
  const emit = (globalThis as { process?: { emitWarning?: (message: string, options: object) => void } }).process?.emitWarning;
  if (typeof emit !== 'function') return;
  for (const message of messages) {
    if (message === null || emitted.has(message)) continue;
    emitted.add(message);
    emit.call(process, message, { type: WARNING_TYPE, code: configWarningCode(message) });
  }
}
