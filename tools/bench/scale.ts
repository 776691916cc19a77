/**
 * The side-by-side scale run: N simulated serverless instances spread over worker processes,
 * in session mode (each instance's pool straight to Postgres) or transaction mode (through
 * PgBouncer), with the server's memory sampled from /proc during the run.
 */
import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePoolConfig } from '../../src/config/resolve-pool-config.ts';
import type { LocalStack } from '../stack/start-stack.ts';
import { type LatencySummary, summarize } from './latency.ts';
import { cpuSeconds } from './proc-cpu.ts';
import { startPeakSampler } from './proc-memory.ts';
import type { BenchClient, BenchMode, CoordinatorMessage, WarmupReport, WindowReport, WorkerMessage } from './protocol.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');

/** Every live worker, so run.ts can kill them on any exit. */
export const liveWorkers = new Set<ChildProcess>();

export interface ScaleParams {
  readonly mode: BenchMode;
  readonly instances: number;
  readonly workers: number;
  readonly rampMs: number;
  readonly warmupCapMs: number;
  readonly thinkMs: number;
  readonly windowMs: number;
  readonly graceMs: number;
  /** MAX_POOL_SIZE for the budget rule: Postgres slots (session) or PgBouncer's pool (transaction). */
  readonly maxPoolSize: number;
  /** What each simulated instance runs on (tools/bench/light-client.ts). */
  readonly client: BenchClient;
  /** `connect_timeout` (s) in every instance's DATABASE_URL; unset: the package's default. */
  readonly connectTimeoutS?: number;
  readonly log: (line: string) => void;
}

export interface ScaleResult {
  mode: BenchMode;
  client: BenchClient;
  instances: number;
  workers: number;
  connectionLimit: number;
  thinkMs: number;
  windowMs: number;
  warmupMs: number;
  connected: number;
  /** Instances whose first request failed: `refusedByServer` with too-many-connections (53300), the rest otherwise (timeouts). */
  refused: number;
  refusedByServer: number;
  refusedByKind: Record<string, number>;
  instancesServed: number;
  opsOk: number;
  opsFailed: number;
  opsUnfinished: number;
  throughputOkPerS: number;
  latencyOk: LatencySummary;
  latencyOkByKind: { read: LatencySummary; write: LatencySummary; batch: LatencySummary };
  latencyFailed: LatencySummary;
  errorsByKind: Record<string, number>;
  retriesByKind: Record<string, number>;
  /** Errors and retries caused by prepared statements (26000 / 42P05). */
  preparedStatementErrors: number;
  memory: {
    /** Client backends at the sample with the largest backend PSS. */
    backendsAtPeak: number;
    maxBackendsSeen: number;
    backendsPssMb: number;
    backendsPrivateMb: number;
    clusterPssMb: number;
    pgbouncerPssMb: number | null;
    /** Backend PSS / instances served. */
    backendsPssPerServedMb: number | null;
    /** (Backend PSS + PgBouncer PSS) / instances served. */
    serverPssPerServedMb: number | null;
  };
  /** RSS of all workers after the window, after the warm-up (every instance created and connected), and before any instance existed (MB). */
  workerRssMb: number;
  readyWorkerRssMb: number;
  idleWorkerRssMb: number;
  /** Worst worker's event-loop delay p99 in the window (ms). */
  eventLoopDelayP99Ms: number;
  /**
   * PgBouncer's CPU (user + system) as % of one core, during the warm-up (the cold-start wave of logins)
   * and during the measurement window; null in session mode. PgBouncer runs on one thread: near 100% it is the limit.
   */
  pgbouncerCpuPct: { warmup: number; window: number } | null;
  /** 1-minute load average at the start and end of this run. */
  loadAverage: [number, number];
}

interface WorkerHandle {
  readonly child: ChildProcess;
  next<T extends WorkerMessage['type']>(type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>>;
  send(message: CoordinatorMessage): void;
}

function spawnWorker(index: number): WorkerHandle {
  // A big heap: 2,500 instances with their own Prisma client each take a few GB.
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, DEBUG: process.env.BENCH_DEBUG ? process.env.DEBUG : '' },
  });
  liveWorkers.add(child);
  // A send to a worker that is already gone (Ctrl-C killed it) must not crash the coordinator.
  child.on('error', () => {});
  child.once('exit', () => liveWorkers.delete(child));
  const inbox: WorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (message: WorkerMessage) => {
    inbox.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  child.once('exit', () => {
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    child,
    send: (message) => {
      if (child.connected) child.send(message);
    },
    async next(type, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = inbox.findIndex((m) => m.type === type || m.type === 'error');
        if (found >= 0) {
          const [message] = inbox.splice(found, 1);
          if (message?.type === 'error') throw new Error(`bench worker ${index} failed: ${message.message}`);
          return message as Extract<WorkerMessage, { type: typeof type }>;
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`bench worker ${index} exited (${child.exitCode ?? child.signalCode}) while we waited for "${type}"`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`bench worker ${index}: no "${type}" after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

function mergeCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

const mb = (kb: number): number => Math.round(kb / 102.4) / 10;

export async function runScale(stack: LocalStack, params: ScaleParams): Promise<ScaleResult> {
  const { mode, instances } = params;
  const url = new URL(mode === 'session' ? stack.directUrl : stack.poolerUrl);
  if (params.connectTimeoutS !== undefined) url.searchParams.set('connect_timeout', String(params.connectTimeoutS));
  const env: Record<string, string> = {
    DATABASE_URL: url.href,
    USE_TRANSACTION_MODE: mode === 'transaction' ? 'true' : 'false',
    INSTANCE_COUNT: String(instances),
    MAX_POOL_SIZE: String(params.maxPoolSize),
  };
  const connectionLimit = resolvePoolConfig(env).connectionLimit;
  const loadStart = Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
  const pids = stack.pids();
  if (pids.postgres === null) throw new Error('bench: postgres is not running');
  const sampler = startPeakSampler(pids.postgres, 'app', mode === 'transaction' ? pids.pgbouncer : null);

  const workerCount = Math.min(params.workers, instances);
  const handles: WorkerHandle[] = [];
  try {
    for (let w = 0; w < workerCount; w++) handles.push(spawnWorker(w));
    // All workers loaded (tsx, Prisma) before the cold-start wave, so loading does not compete with it.
    const online = await Promise.all(handles.map((h) => h.next('online', 120_000)));
    const bouncerPid = mode === 'transaction' ? pids.pgbouncer : null;
    const cpuMark = () => ({ at: performance.now(), cpu: bouncerPid === null ? null : cpuSeconds(bouncerPid) });
    const cpuPct = (from: ReturnType<typeof cpuMark>, to: ReturnType<typeof cpuMark>): number | null =>
      from.cpu === null || to.cpu === null ? null : Math.round(((to.cpu - from.cpu) / ((to.at - from.at) / 1000)) * 1000) / 10;
    const warmupStart = cpuMark();
    const idleWorkerRssMb = Math.round(online.reduce((t, o) => t + o.rssBytes, 0) / 1024 / 1024);
    const base = Math.floor(instances / workerCount);
    let first = 1;
    for (const [w, handle] of handles.entries()) {
      const count = base + (w < instances % workerCount ? 1 : 0);
      handle.send({
        type: 'setup',
        workerIndex: w,
        firstInstance: first,
        count,
        env,
        rampMs: params.rampMs,
        thinkMs: params.thinkMs,
        warmupCapMs: params.warmupCapMs,
        client: params.client,
      });
      first += count;
    }
    // Startup (tsx, Prisma) + ramp + the warm-up cap, with room to spare.
    const ready: WarmupReport[] = await Promise.all(handles.map((h) => h.next('ready', params.warmupCapMs + 120_000)));
    const windowStart = cpuMark();
    const refusedByKind: Record<string, number> = {};
    for (const r of ready) mergeCounts(refusedByKind, r.refusedByKind);
    const connected = ready.reduce((sum, r) => sum + r.connected, 0);
    const warmupMs = Math.max(...ready.map((r) => r.warmupMs));
    params.log(
      `  ${mode} N=${instances}: warm-up ${(warmupMs / 1000).toFixed(1)} s, ${connected} connected, ${instances - connected} refused${instances > connected ? ` ${JSON.stringify(refusedByKind)}` : ''}; window ${params.windowMs / 1000} s; workers' RSS ${Math.round(ready.reduce((t, r) => t + r.rssBytes, 0) / 1024 / 1024)} MB`,
    );

    for (const h of handles) h.send({ type: 'start', windowMs: params.windowMs, graceMs: params.graceMs });
    // Generous: at N = 10,000 a worker holds 2,500 instances and its event loop answers late.
    const results: WindowReport[] = await Promise.all(handles.map((h) => h.next('result', params.windowMs + params.graceMs + 300_000)));
    const windowEnd = cpuMark();
    const warmupCpu = cpuPct(warmupStart, windowStart);
    const windowCpu = cpuPct(windowStart, windowEnd);
    const memory = sampler.stop();

    const errorsByKind: Record<string, number> = {};
    const retriesByKind: Record<string, number> = {};
    for (const r of results) {
      mergeCounts(errorsByKind, r.errorsByKind);
      mergeCounts(retriesByKind, r.retriesByKind);
    }
    const sum = (pick: (r: WindowReport) => number) => results.reduce((total, r) => total + pick(r), 0);
    const opsOk = sum((r) => r.ok);
    const served = sum((r) => r.instancesServed);
    const preparedStatementErrors =
      Object.entries(errorsByKind)
        .filter(([k]) => k.startsWith('prepared-statement'))
        .reduce((t, [, c]) => t + c, 0) + (retriesByKind['prepared-statement'] ?? 0);
    const peak = memory.peak;
    const backendsPssKb = peak?.backendsRollup.pssKb ?? 0;
    const pgbouncerKb = mode === 'transaction' ? memory.peakPgbouncerKb : 0;
    return {
      mode,
      client: params.client,
      instances,
      workers: workerCount,
      connectionLimit,
      thinkMs: params.thinkMs,
      windowMs: params.windowMs,
      warmupMs,
      connected,
      refused: instances - connected,
      refusedByServer: Object.entries(refusedByKind)
        .filter(([k]) => k.startsWith('too-many-connections'))
        .reduce((t, [, c]) => t + c, 0),
      refusedByKind,
      instancesServed: served,
      opsOk,
      opsFailed: sum((r) => r.failed),
      opsUnfinished: sum((r) => r.unfinished),
      throughputOkPerS: Math.round((opsOk / (params.windowMs / 1000)) * 10) / 10,
      latencyOk: summarize(results.flatMap((r) => [...r.okLatenciesUs.read, ...r.okLatenciesUs.write, ...r.okLatenciesUs.batch])),
      latencyOkByKind: {
        read: summarize(results.flatMap((r) => r.okLatenciesUs.read)),
        write: summarize(results.flatMap((r) => r.okLatenciesUs.write)),
        batch: summarize(results.flatMap((r) => r.okLatenciesUs.batch)),
      },
      latencyFailed: summarize(results.flatMap((r) => r.failedLatenciesUs)),
      errorsByKind,
      retriesByKind,
      preparedStatementErrors,
      memory: {
        backendsAtPeak: peak?.backends ?? 0,
        maxBackendsSeen: memory.peakBackends,
        backendsPssMb: mb(backendsPssKb),
        backendsPrivateMb: mb(peak?.backendsRollup.privateKb ?? 0),
        clusterPssMb: mb(peak?.clusterRollup.pssKb ?? 0),
        pgbouncerPssMb: mode === 'transaction' ? mb(pgbouncerKb) : null,
        backendsPssPerServedMb: served > 0 ? Math.round((backendsPssKb / 1024 / served) * 1000) / 1000 : null,
        serverPssPerServedMb: served > 0 ? Math.round(((backendsPssKb + pgbouncerKb) / 1024 / served) * 1000) / 1000 : null,
      },
      workerRssMb: Math.round(sum((r) => r.rssBytes) / 1024 / 1024),
      readyWorkerRssMb: Math.round(ready.reduce((t, r) => t + r.rssBytes, 0) / 1024 / 1024),
      idleWorkerRssMb,
      eventLoopDelayP99Ms: Math.max(...results.map((r) => r.eventLoopDelayP99Ms)),
      pgbouncerCpuPct: warmupCpu === null || windowCpu === null ? null : { warmup: warmupCpu, window: windowCpu },
      loadAverage: [loadStart, Math.round((os.loadavg()[0] ?? 0) * 100) / 100],
    };
  } finally {
    sampler.stop();
    await Promise.allSettled(
      handles.map(async (h) => {
        if (h.child.exitCode !== null || h.child.signalCode !== null) return;
        try {
          h.send({ type: 'close' });
          await h.next('closed', 30_000);
        } catch {
          // fall through to the kill below
        }
        await new Promise<void>((resolve) => {
          if (h.child.exitCode !== null || h.child.signalCode !== null) return resolve();
          const timer = setTimeout(() => h.child.kill('SIGKILL'), 5_000);
          h.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }),
    );
  }
}
