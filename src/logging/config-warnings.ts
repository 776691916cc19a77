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
  [/transaction mode on .* direct database endpoint/, 'PGPOOL_NO_POOLER'],
  [/the options parameter is sent to PgBouncer/, 'PGPOOL_STARTUP_OPTIONS'],
  [/lacks the pipeline client option/, 'PGPOOL_PG_NO_PIPELINE'],
  [/does not verify the server certificate/, 'PGPOOL_TLS_UNVERIFIED'],
  [/a multi-host URL .* points at a pooler/, 'PGPOOL_MULTI_HOST_POOLER'],
];

/** The code of one of our configuration warnings. */
export function configWarningCode(message: string): string {
  for (const [pattern, code] of CODES) if (pattern.test(message)) return code;
  return 'PGPOOL_CONFIG';
}

/** One configuration warning, as the `onWarning` option receives it. */
export interface ConfigWarning {
  readonly code: string;
  readonly message: string;
}

const emitted = new Set<string>();

/** The default `onWarning`: `process.emitWarning`, once per process for each message. */
export function emitProcessWarning(warning: ConfigWarning): void {
  // Runtimes without Node's process object (an edge bundle) have nowhere to send them.
  const emit = (globalThis as { process?: { emitWarning?: (message: string, options: object) => void } }).process?.emitWarning;
  if (typeof emit !== 'function' || emitted.has(warning.message)) return;
  emitted.add(warning.message);
  emit.call(process, warning.message, { type: WARNING_TYPE, code: warning.code });
}

/** Hands each message, with its code, to `onWarning` (the default: `emitProcessWarning`). */
export function emitConfigWarnings(
  messages: readonly (string | null)[],
  onWarning: (warning: ConfigWarning) => void = emitProcessWarning,
): void {
  for (const message of messages) if (message !== null) onWarning({ code: configWarningCode(message), message });
}
