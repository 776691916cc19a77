/** Messages between the bench coordinator (run.ts) and its worker processes (worker.ts). */

export type BenchMode = 'session' | 'transaction';

export interface WorkerSetup {
  readonly type: 'setup';
  readonly workerIndex: number;
  /** Global instance numbers this worker simulates: [first, first + count). Instance i owns user row `i`. */
  readonly firstInstance: number;
  readonly count: number;
  /** Passed to each manager as its `env` (DATABASE_URL, USE_TRANSACTION_MODE, INSTANCE_COUNT, MAX_POOL_SIZE). */
  readonly env: Readonly<Record<string, string>>;
  /** Instances start their first operation spread evenly over this many ms (a cold-start wave). */
  readonly rampMs: number;
  /** Mean pause between one instance's operations (uniform in [0.5, 1.5] × this). */
  readonly thinkMs: number;
  /** Hard cap on the warm-up: instances still connecting after it count as refused (kind `warmup-timeout`). */
  readonly warmupCapMs: number;
  /** `prisma`: a PrismaClient per instance; `light`: tools/bench/light-client.ts (what it keeps and drops is said there). */
  readonly client: BenchClient;
}

export type BenchClient = 'prisma' | 'light';

export interface WorkerStart {
  readonly type: 'start';
  readonly windowMs: number;
  /** After the window, in-flight operations get this long to finish before they count as unfinished. */
  readonly graceMs: number;
}

export type CoordinatorMessage = WorkerSetup | WorkerStart | { readonly type: 'close' };

export interface WarmupReport {
  readonly type: 'ready';
  readonly workerIndex: number;
  /** Instances whose first operation succeeded. */
  readonly connected: number;
  /** Instances whose first operation failed, by classified error kind (and code). */
  readonly refusedByKind: Record<string, number>;
  readonly warmupMs: number;
  readonly rssBytes: number;
}

export interface WindowReport {
  readonly type: 'result';
  readonly workerIndex: number;
  readonly ok: number;
  readonly failed: number;
  /** Operations still running when the grace period ended. */
  readonly unfinished: number;
  /** Failed operations by classified error kind (and code). */
  readonly errorsByKind: Record<string, number>;
  /** Retries the managers made (their own metrics), by error kind. */
  readonly retriesByKind: Record<string, number>;
  /** Instances with at least one successful operation in the window. */
  readonly instancesServed: number;
  /** Latency of every operation that finished in the window (ok or failed), integer µs; ok ones by step kind. */
  readonly okLatenciesUs: { read: number[]; write: number[]; batch: number[] };
  readonly failedLatenciesUs: number[];
  readonly rssBytes: number;
  /** p99 of this worker's event-loop delay during the window, ms: high = the simulation itself is CPU-bound. */
  readonly eventLoopDelayP99Ms: number;
}

export type WorkerMessage =
  | WarmupReport
  | WindowReport
  | { readonly type: 'online'; readonly workerIndex: number; readonly rssBytes: number }
  | { readonly type: 'closed'; readonly workerIndex: number }
  | ErrorReport;

export interface ErrorReport {
  readonly type: 'error';
  readonly workerIndex: number;
  readonly message: string;
}
