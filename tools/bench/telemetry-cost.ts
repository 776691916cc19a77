/**
 * `npm run bench -- --telemetry [--quick] [--update-docs]`: what OpenTelemetry costs per wrapper call.
 *
 * Three variants, same client settings, same SQL (`SELECT 1` in an interactive transaction), one
 * call at a time through the local stack's PgBouncer (transaction mode):
 * - raw `$transaction` with the `maxWait`/`timeout` the wrapper passes (like with like);
 * - `withPooling` on a manager whose first call came before any provider was registered (the free
 *   path: telemetry decided off, nothing done per call);
 * - `withPooling` on a manager whose first call came after a MeterProvider (a pull reader, as a
 *   Prometheus or periodic OTLP exporter has) and a TracerProvider (BatchSpanProcessor into an
 *   exporter that drops the spans) were registered, with an AsyncLocalStorage context manager —
 *   what `@opentelemetry/sdk-node` sets up, minus the network.
 * Rounds are interleaved (the order rotates every round), so drift on a shared machine hits every
 * variant alike; the table gives the median of the rounds and their spread (min–max), and the
 * per-round paired differences. Wall time is per call at concurrency 1; CPU time is this process's
 * user+system time per call (Prisma, pg, our code and the SDK, not Postgres or PgBouncer).
 * With --update-docs the table goes into docs/opentelemetry.md between the telemetry-cost markers.
 */
import os from 'node:os';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { createMetrics, createMetricsSink } from '../../src/metrics/metrics.ts';
import { fanOutSinks, type OperationFinished } from '../../src/metrics/sink.ts';
import { describePoolTarget } from '../../src/telemetry/pool-target.ts';
import { createTelemetry } from '../../src/telemetry/telemetry.ts';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { startStack } from '../stack/start-stack.ts';
import { type AppManager, createAppClient } from './workload.ts';

const DOC = 'docs/opentelemetry.md';
const MARKER = 'telemetry-cost';
const log = (line: string) => console.error(line);

class PullReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Receives batches and drops them: the export path runs, the network does not. */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

type Variant = 'raw' | 'noProvider' | 'provider';
const VARIANTS: readonly Variant[] = ['raw', 'noProvider', 'provider'];
const LABELS: Record<Variant, string> = {
  raw: 'raw `$transaction` (same maxWait/timeout)',
  noProvider: '`withPooling`, no provider registered',
  provider: '`withPooling`, MeterProvider + TracerProvider registered',
};

interface RoundFigures {
  wallUs: number;
  cpuUs: number;
  calls: number;
}

/** One call at a time for `durationMs`: mean wall µs and CPU µs per call. */
async function measure(call: () => Promise<unknown>, durationMs: number): Promise<RoundFigures> {
  const warmEnd = performance.now() + Math.min(300, durationMs / 4);
  while (performance.now() < warmEnd) await call();
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durationMs;
  while (performance.now() < end) {
    await call();
    calls++;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallUs: (wallMs * 1000) / calls, cpuUs: (cpu.user + cpu.system) / calls, calls };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const fmt = (value: number): string => value.toFixed(1);
const spread = (values: number[]): string => `${fmt(Math.min(...values))} – ${fmt(Math.max(...values))}`;

export interface TelemetryCost {
  rounds: number;
  durationMs: number;
  perRound: Record<Variant, RoundFigures[]>;
  spansExported: number;
  /** In-process, no database: ns per call of what the manager does for metrics, without and with telemetry. */
  inProcess: { iterations: number; withoutNs: number[]; withNs: number[]; sdkNs: number[] };
}

/**
 * The telemetry work of one call, without the database: what the manager does around a call with
 * telemetry off (the built-in metrics sink) and on (span + active context + duration record + the
 * pool's acquire/release listeners), `iterations` times, rounds interleaved.
 */
async function measureInProcess(rounds: number, iterations: number): Promise<TelemetryCost['inProcess']> {
  const telemetry = createTelemetry({});
  if (!telemetry?.trace) throw new Error('telemetry-cost: providers are not registered');
  const { trace: traced } = telemetry;
  const pool = new pg.Pool({ max: 1 }); // never connects: only its events are used
  const bare = new pg.Pool({ max: 1 });
  const target = describePoolTarget('primary', 'postgresql://u@db.example.com:6543/app', null);
  const stop = telemetry.observePool(pool, 1, target);
  const hdr = createMetricsSink(createMetrics());
  const both = fanOutSinks([createMetricsSink(createMetrics()), telemetry.sink]);
  const client = {};
  const event: OperationFinished = { kind: 'default', scope: 'call', durationNs: 1_500_000n, error: null, pool: target };
  const without = async () => {
    bare.emit('acquire', client);
    bare.emit('release', undefined, client);
    hdr.operationFinished(event);
  };
  const withTelemetry = () =>
    traced('default', target, async (trace) => {
      pool.emit('acquire', client);
      pool.emit('release', undefined, client);
      both.operationFinished({ ...event, trace });
    });
  // CPU time, not wall time: on a shared machine a CPU-bound loop's wall time mostly measures
  // the other processes it waits behind.
  // The SDK's own share: the same span (kind, attributes, active context) and the same two histogram
  // records, called directly, with the metrics sink's work so that only our glue is missing.
  const tracer = trace.getTracer('telemetry-cost');
  const meter = metrics.getMeter('telemetry-cost');
  const durationHistogram = meter.createHistogram('bench.duration', { unit: 's' });
  const useHistogram = meter.createHistogram('bench.use', { unit: 's' });
  const attributes = Object.freeze({
    'db.system.name': 'postgresql',
    'db.operation.name': 'withPooling',
    'db.namespace': 'app',
    'server.address': 'db.example.com',
    'server.port': 6543,
    'pgpool.pool': 'primary',
  });
  const poolAttributes = Object.freeze({ 'db.client.connection.pool.name': 'db.example.com:6543/app' });
  const sdkOnly = async () => {
    const span = tracer.startSpan('withPooling app', { kind: 2, attributes });
    await context.with(trace.setSpan(context.active(), span), async () => {
      useHistogram.record(0.0001, poolAttributes);
      hdr.operationFinished(event);
      durationHistogram.record(0.0015, attributes);
    });
    span.end();
  };
  const time = async (fn: () => Promise<void>): Promise<number> => {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) await fn();
    const cpu = process.cpuUsage(cpu0);
    return ((cpu.user + cpu.system) * 1000) / iterations;
  };
  await time(without);
  await time(withTelemetry); // warm-up (JIT)
  await time(sdkOnly);
  const figures = { without: [] as number[], with: [] as number[], sdk: [] as number[] };
  const order = [
    ['without', without],
    ['with', withTelemetry],
    ['sdk', sdkOnly],
  ] as const;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < order.length; k++) {
      const [name, fn] = order[(round + k) % order.length] as (typeof order)[number];
      figures[name].push(await time(fn));
    }
  }
  stop();
  telemetry.dispose();
  await Promise.all([pool.end(), bare.end()]);
  return { iterations, withoutNs: figures.without, withNs: figures.with, sdkNs: figures.sdk };
}

export function renderTelemetryCost(result: TelemetryCost, environment: string): string {
  const rows = VARIANTS.map((v) => {
    const wall = result.perRound[v].map((r) => r.wallUs);
    const cpu = result.perRound[v].map((r) => r.cpuUs);
    return `| ${LABELS[v]} | ${fmt(median(wall))} | ${spread(wall)} | ${fmt(median(cpu))} | ${spread(cpu)} |`;
  });
  const paired = (a: Variant, b: Variant, pick: (r: RoundFigures) => number): number[] =>
    result.perRound[a].map((r, i) => pick(r) - pick(result.perRound[b][i] as RoundFigures));
  const diffRow = (label: string, a: Variant, b: Variant) => {
    const wall = paired(a, b, (r) => r.wallUs);
    const cpu = paired(a, b, (r) => r.cpuUs);
    return `| ${label} | ${fmt(median(wall))} | ${spread(wall)} | ${fmt(median(cpu))} | ${spread(cpu)} |`;
  };
  const calls = VARIANTS.map((v) => result.perRound[v].reduce((t, r) => t + r.calls, 0));
  const { inProcess } = result;
  const addedNs = inProcess.withNs.map((ns, i) => ns - (inProcess.withoutNs[i] ?? 0));
  return [
    `**In process, no database** (${inProcess.withNs.length} interleaved rounds of ${inProcess.iterations.toLocaleString('en-US')} calls): what the manager does per call for metrics and telemetry.`,
    '',
    '| | CPU ns/call (median) | spread |',
    '|---|---:|---:|',
    `| telemetry off (no provider): built-in metrics sink only | ${fmt(median(inProcess.withoutNs))} | ${spread(inProcess.withoutNs)} |`,
    `| providers registered: + span, active context, duration record, pool use-time listeners | ${fmt(median(inProcess.withNs))} | ${spread(inProcess.withNs)} |`,
    `| added by telemetry (paired per round) | ${fmt(median(addedNs))} | ${spread(addedNs)} |`,
    `| for scale: the SDK alone doing the same span and two records, plus the metrics sink (no glue of ours) | ${fmt(median(inProcess.sdkNs))} | ${spread(inProcess.sdkNs)} |`,
    '',
    `**Through PgBouncer**, ${result.rounds} interleaved rounds of ${result.durationMs} ms per variant, one call at a time (${calls.join(' / ')} calls); ${environment}.`,
    '',
    '| variant | wall µs/call (median) | spread | CPU µs/call (median) | spread |',
    '|---|---:|---:|---:|---:|',
    ...rows,
    diffRow('added by telemetry, providers registered (paired per round)', 'provider', 'noProvider'),
    '',
    `Spans exported during the run (one per \`withPooling\` call with providers): ${result.spansExported}.`,
    `Generated by \`npm run bench -- --telemetry --update-docs\` on ${new Date().toISOString().slice(0, 10)}; a shared 2-core machine, so compare the rows with each other, not with another machine.`,
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const rounds = quick ? 3 : 9;
  const durationMs = quick ? 600 : 2000;
  const stack = await startStack({ log });
  const managers: AppManager[] = [];
  const make = () => {
    const m: AppManager = createConnectionPoolManager({
      createClient: createAppClient,
      env: { DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true' },
      pool: { connectionLimit: 2 },
    });
    managers.push(m);
    return m;
  };
  const contextManager = new AsyncLocalStorageContextManager();
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new DroppingExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  let collector: NodeJS.Timeout | undefined;
  try {
    const select = (m: AppManager) => () => m.withPooling((tx) => tx.$queryRawUnsafe('SELECT 1'));
    // Decided at its first call: before any provider exists.
    const plain = make();
    await select(plain)();
    context.setGlobalContextManager(contextManager.enable());
    metrics.setGlobalMeterProvider(meterProvider);
    trace.setGlobalTracerProvider(tracerProvider);
    const instrumented = make();
    await select(instrumented)();
    // A reader that collects now and then, as an exporter would.
    collector = setInterval(() => void reader.collect(), 1000);
    collector.unref();
    const txOptions = { maxWait: plain.config.poolTimeoutMs + 1000, timeout: 10_000 };
    const calls: Record<Variant, () => Promise<unknown>> = {
      raw: () => plain.client.$transaction((tx) => tx.$queryRawUnsafe('SELECT 1'), txOptions),
      noProvider: select(plain),
      provider: select(instrumented),
    };
    const perRound: Record<Variant, RoundFigures[]> = { raw: [], noProvider: [], provider: [] };
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const variant = VARIANTS[(round + k) % VARIANTS.length] as Variant;
        perRound[variant].push(await measure(calls[variant], durationMs));
      }
      log(`telemetry-cost: round ${round + 1}/${rounds}`);
    }
    await tracerProvider.forceFlush();
    const spansExported = exporter.exported;
    log('telemetry-cost: in-process rounds');
    const inProcess = await measureInProcess(quick ? 5 : 15, quick ? 20_000 : 100_000);
    const result: TelemetryCost = { rounds, durationMs, perRound, spansExported, inProcess };
    const environment = `Node ${process.versions.node}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? '?'}), load ${os.loadavg()[0]?.toFixed(1)} at the end`;
    const markdown = renderTelemetryCost(result, environment);
    console.log(markdown);
    if (argv.includes('--update-docs')) {
      updateGeneratedBlocks(DOC, { [MARKER]: markdown });
      log('telemetry-cost: updated docs/opentelemetry.md');
    }
  } finally {
    clearInterval(collector);
    await Promise.allSettled(managers.map((m) => m.disconnect()));
    metrics.disable();
    trace.disable();
    context.disable();
    await Promise.allSettled([meterProvider.shutdown(), tracerProvider.shutdown()]);
    await stack.stop();
  }
}
