/**
 * Warmup: do before the first request what it would otherwise pay for in series — Prisma's engine
 * start (the query compiler's WebAssembly, ~100 ms of CPU), then TCP, TLS and the pooler login
 * (SCRAM) of every pool connection, concurrently — and leave the connections idle in the pool.
 *
 * pg-pool details this relies on (node_modules/pg-pool/index.js, 3.14):
 * - `connect()` makes a new client only when the pool is neither full nor holding an idle one, so
 *   the N `connect()` calls are issued in one tick: none has become idle yet, each opens its own.
 * - each connection is released as soon as it is up: `_release` hands it to a caller already
 *   waiting (the first request, if it arrived meanwhile) or makes it idle, which starts pg's idle
 *   timer and, with `allowExitOnIdle`, unrefs the socket and the timer. Warmup therefore never keeps
 *   connections past the idle timeout nor keeps a process alive once they are up.
 *
 * Never throws: every failure is reported in the result, for the caller to log and count.
 */
import type pg from 'pg';
import { classifyError } from '../errors/classify-error.ts';

export type WarmupMode = 'auto' | boolean;

/** One pool to warm. */
export interface WarmupTarget {
  readonly pool: pg.Pool;
  /** connection_limit of that pool. */
  readonly limit: number;
}

export interface WarmupResult {
  /** New connections opened (or idle ones found and handed back). */
  readonly opened: number;
  /** Failed steps: one per connection that could not be opened, one for the engine, one for the query. */
  readonly failures: number;
  /** The first error, for the log line; never rethrown. */
  readonly firstError: unknown;
}

/** Validates the `warmup` option; returns the message for ConfigError, or null. */
export function checkWarmupMode(value: unknown): string | null {
  return value === undefined || value === 'auto' || typeof value === 'boolean' ? null : 'must be "auto", true or false';
}

/** Whether the manager warms itself at first use. */
export function autoWarmup(mode: WarmupMode | undefined, serverless: boolean): boolean {
  return mode === true || (mode === 'auto' && serverless);
}

/** Opens up to `limit - totalCount` connections of one pool concurrently and releases each once it is up. */
export async function warmPool(target: WarmupTarget): Promise<WarmupResult> {
  const { pool, limit } = target;
  const wanted = Math.max(0, limit - pool.totalCount);
  let opened = 0;
  let failures = 0;
  let firstError: unknown = null;
  const attempts = Array.from({ length: wanted }, () =>
    pool.connect().then(
      (client) => {
        opened++;
        client.release();
      },
      (error: unknown) => {
        failures++;
        firstError ??= error;
      },
    ),
  );
  await Promise.all(attempts);
  return { opened, failures, firstError };
}

export interface WarmupSteps {
  /** Prisma's `$connect()`: starts the engine (loads the query compiler) before the first query. */
  readonly startEngine: () => Promise<void>;
  readonly targets: readonly WarmupTarget[];
  /** An app query run once everything is open, so Prisma compiles that query path now. */
  readonly query?: () => PromiseLike<unknown>;
  /** The outcome, one line (debug namespace of the caller). */
  readonly log?: (format: string, ...args: unknown[]) => void;
}

/** Engine start and every pool concurrently, then the optional query; logs the outcome. Never rejects. */
export async function runWarmup(steps: WarmupSteps): Promise<WarmupResult> {
  const started = performance.now();
  const engine = Promise.resolve()
    .then(steps.startEngine)
    .then(
      (): WarmupResult => ({ opened: 0, failures: 0, firstError: null }),
      (error: unknown): WarmupResult => ({ opened: 0, failures: 1, firstError: error }),
    );
  const parts = await Promise.all([engine, ...steps.targets.map(warmPool)]);
  if (steps.query) {
    try {
      await steps.query();
    } catch (error) {
      parts.push({ opened: 0, failures: 1, firstError: error });
    }
  }
  const result: WarmupResult = {
    opened: parts.reduce((sum, p) => sum + p.opened, 0),
    failures: parts.reduce((sum, p) => sum + p.failures, 0),
    firstError: parts.find((p) => p.failures > 0)?.firstError ?? null,
  };
  const ms = Math.round(performance.now() - started);
  if (result.failures === 0) steps.log?.('warmup: %d connection(s) open in %d ms', result.opened, ms);
  else {
    // Kind and SQLSTATE only: an error message may quote a URL.
    const { kind, code } = classifyError(result.firstError);
    steps.log?.(
      'warmup: %d connection(s) open, %d step(s) failed (%s%s) in %d ms',
      result.opened,
      result.failures,
      kind,
      code ? ` ${code}` : '',
      ms,
    );
  }
  return result;
}
