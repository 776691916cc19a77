/**
 * One worker process of the scale bench: simulates `count` serverless instances, each a manager
 * of its own (its own `pg.Pool` of `connection_limit` connections, and its own Prisma client or the
 * light client of tools/bench/light-client.ts), as a real instance would hold. Driven by run.ts over IPC: setup (create + first operation = the cold
 * start), start (the measurement window), close.
 *
 * Latencies go back to the coordinator as raw integer-µs samples rather than percentiles:
 * percentiles of several workers cannot be merged, and the sample count stays moderate (this
 * 2-core machine finishes at most a few thousand operations per second), so the coordinator
 * records every sample into one `perf_hooks` histogram and gets exact merged percentiles.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError } from '../../src/errors/classify-error.ts';
import { createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { createLightClient } from './light-client.ts';
import type { CoordinatorMessage, WindowReport, WorkerMessage, WorkerSetup, WorkerStart } from './protocol.ts';
import { createAppClient, lightFirstRequest, runLightStep, runStep, stepKind } from './workload.ts';

const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

/** `kind` or `kind code`, e.g. `too-many-connections 53300`. */
const seenKeys = new Set<string>();

export function errorKey(error: unknown): string {
  const { kind, code } = classifyError(error);
  // An error our classifier does not know is worth seeing by its message (kept short, no URLs).
  const message = String((error as Error)?.message ?? error)
    .split('\n')[0]
    ?.slice(0, 60)
    .replace(/\w+:\/\/\S+/g, '<url>');
  const key = code ? `${kind} ${code}` : kind === 'application' ? `unclassified: ${message}` : kind;
  // BENCH_DEBUG=1 prints the first error of each kind, to check the classification.
  if (process.env.BENCH_DEBUG && !seenKeys.has(key)) {
    seenKeys.add(key);
    console.error(`[bench worker] first "${key}":`, error);
  }
  return key;
}

const bump = (counts: Record<string, number>, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

interface Instance {
  readonly number: number;
  readonly manager: { resetMetrics(): void; getMetrics(): { retriesByKind: Record<string, number> }; disconnect(): Promise<void> };
  /** The instance's first request (its cold start), and one operation at `step` of its cycle. */
  readonly first: () => Promise<unknown>;
  readonly run: (step: number) => Promise<unknown>;
  /** Result of the first operation: null = ok, else the error key. */
  firstOutcome: Promise<string | null>;
  step: number;
}

let instances: Instance[] = [];
let setupMessage: WorkerSetup | null = null;

async function setup(message: WorkerSetup): Promise<void> {
  setupMessage = message;
  const started = performance.now();
  instances = Array.from({ length: message.count }, (_, k) => {
    const number = message.firstInstance + k;
    const common = { firstOutcome: Promise.resolve(null), step: number % 10, number };
    if (message.client === 'light') {
      const manager = createConnectionPoolManager({ createClient: createLightClient, env: message.env });
      return {
        ...common,
        manager,
        first: () => lightFirstRequest(manager, number),
        run: (step: number) => runLightStep(manager, number, step),
      };
    }
    const manager = createConnectionPoolManager({ createClient: createAppClient, env: message.env });
    return {
      ...common,
      manager,
      // A cold start's first request: read the instance's own user (connects the pool).
      first: () => manager.readWithPooling((tx) => tx.user.findUnique({ where: { id: String(number) } })),
      run: (step: number) => runStep(manager, number, step),
    };
  });
  // The cold-start wave: instance k makes its first request at k/count of the ramp.
  for (const [k, instance] of instances.entries()) {
    const delay = message.count > 1 ? (k / message.count) * message.rampMs : 0;
    instance.firstOutcome = (async () => {
      await sleep(delay);
      try {
        await instance.first();
        return null;
      } catch (error) {
        return errorKey(error);
      }
    })();
  }
  const capped = await Promise.race([Promise.all(instances.map((i) => i.firstOutcome)), sleep(message.warmupCapMs).then(() => null)]);
  const refusedByKind: Record<string, number> = {};
  let connected = 0;
  if (capped === null) {
    // Past the cap: whatever has not answered yet counts as refused.
    const settled = await Promise.all(instances.map((i) => Promise.race([i.firstOutcome, Promise.resolve('warmup-timeout')])));
    for (const outcome of settled) outcome === null ? connected++ : bump(refusedByKind, outcome);
  } else {
    for (const outcome of capped) outcome === null ? connected++ : bump(refusedByKind, outcome);
  }
  send({
    type: 'ready',
    workerIndex: message.workerIndex,
    connected,
    refusedByKind,
    warmupMs: Math.round(performance.now() - started),
    rssBytes: process.memoryUsage().rss,
  });
}

async function runWindow(message: WorkerStart): Promise<void> {
  const config = setupMessage;
  if (!config) throw new Error('start before setup');
  for (const instance of instances) instance.manager.resetMetrics();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const okLatenciesUs: WindowReport['okLatenciesUs'] = { read: [], write: [], batch: [] };
  const failedLatenciesUs: number[] = [];
  const errorsByKind: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  const served = new Set<number>();
  const end = performance.now() + message.windowMs;
  const think = () => config.thinkMs * (0.5 + Math.random());

  const loop = async (instance: Instance) => {
    // Wait for the cold start to finish (it may still be running past the warm-up cap).
    await instance.firstOutcome;
    // Desynchronize: each instance's first request in the window comes at a random point of one think time.
    await sleep(Math.min(Math.random() * config.thinkMs, Math.max(0, end - performance.now())));
    while (performance.now() < end) {
      const t0 = process.hrtime.bigint();
      const step = instance.step++;
      inFlight++;
      try {
        await instance.run(step);
        okLatenciesUs[stepKind(step)].push(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)));
        ok++;
        served.add(instance.number);
      } catch (error) {
        failedLatenciesUs.push(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)));
        failed++;
        bump(errorsByKind, errorKey(error));
      } finally {
        inFlight--;
      }
      const left = end - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(think(), left));
    }
  };
  const all = Promise.all(instances.map(loop));
  await sleep(message.windowMs);
  await Promise.race([all, sleep(message.graceMs)]);
  loopDelay.disable();

  const retriesByKind: Record<string, number> = {};
  for (const instance of instances) {
    for (const [kind, count] of Object.entries(instance.manager.getMetrics().retriesByKind)) bump(retriesByKind, kind, count);
  }
  send({
    type: 'result',
    workerIndex: config.workerIndex,
    ok,
    failed,
    unfinished: inFlight,
    errorsByKind,
    retriesByKind,
    instancesServed: served.size,
    okLatenciesUs,
    failedLatenciesUs,
    rssBytes: process.memoryUsage().rss,
    eventLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
  });
}

async function close(): Promise<void> {
  await Promise.race([Promise.allSettled(instances.map((i) => i.manager.disconnect())), sleep(20_000)]);
  send({ type: 'closed', workerIndex: setupMessage?.workerIndex ?? -1 });
  // Let the IPC message flush, then go: nothing else is worth waiting for.
  setTimeout(() => process.exit(0), 100);
}

process.on('message', (message: CoordinatorMessage) => {
  const run = message.type === 'setup' ? setup(message) : message.type === 'start' ? runWindow(message) : close();
  run.catch((error: unknown) => {
    send({ type: 'error', workerIndex: setupMessage?.workerIndex ?? -1, message: String((error as Error)?.stack ?? error) });
    setTimeout(() => process.exit(1), 100);
  });
});
send({ type: 'online', workerIndex: -1, rssBytes: process.memoryUsage().rss });
// The coordinator is gone (crash, Ctrl-C): nothing left to report to.
process.on('disconnect', () => process.exit(0));
