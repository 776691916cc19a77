/** Tables and commentary from the bench results: stdout, docs/benchmarks.md (between the markers) and JSON. */
import type { MetricsCost, PgbenchResult, StatementModes, WrapperOverhead } from './overheads.ts';
import type { LoginCost } from './pgbouncer-auth.ts';
import type { ScaleResult } from './scale.ts';

export interface BenchEnvironment {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  openFilesLimit: number | null;
  /** 1-minute load average at the start and at the end (other processes share this machine). */
  loadAverage: { start: number; end: number | null; maxSeen: number };
  versions: Record<string, string>;
}

export interface BenchSettings {
  maxConnections: number;
  superuserReserved: number;
  pgbouncerPoolSize: number;
  pgbouncerMaxClientConn: number;
  thinkMs: number;
  windowMs: number;
  users: number;
  /** `connect_timeout` given to the simulated instances (s); null: the package's default. */
  connectTimeoutS?: number | null;
}

export interface Ratio {
  instances: number;
  directServed: number;
  pooledServed: number;
  directRefused: number;
  pooledRefused: number;
  /** pooled ÷ direct. */
  servedRatio: number | null;
  opsOkRatio: number | null;
  throughputRatio: number | null;
  p95Ratio: number | null;
  memoryPerServedRatio: number | null;
  /** Including PgBouncer's own memory on the pooled side. */
  serverMemoryPerServedRatio: number | null;
}

/** The command line that produced `results`, as a reader would type it. */
function benchCommand(results: BenchResults): string {
  return results.argv ? results.argv.join(' ') : `${results.quick ? '--quick ' : ''}--update-docs`;
}

export interface BenchResults {
  generatedAt: string;
  /** The options the run was started with (`npm run bench -- <argv>`); absent in results from before it was recorded. */
  argv?: string[];
  quick: boolean;
  durationS: number;
  environment: BenchEnvironment;
  settings: BenchSettings;
  scale: ScaleResult[];
  ratios: Ratio[];
  loginCost: LoginCost | null;
  wrapperOverhead: WrapperOverhead | null;
  metricsCost: MetricsCost | null;
  pgbench: PgbenchResult | null;
  statements: StatementModes | null;
  /** Runs not made, and why (machine limits). */
  skipped: string[];
}

const div = (a: number | null | undefined, b: number | null | undefined, digits = 3): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : Math.round((a / b) * 10 ** digits) / 10 ** digits;

export function computeRatios(scale: ScaleResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const direct of scale.filter((s) => s.mode === 'session')) {
    const pooled = scale.find((s) => s.mode === 'transaction' && s.instances === direct.instances);
    if (!pooled) continue;
    ratios.push({
      instances: direct.instances,
      directServed: direct.instancesServed,
      pooledServed: pooled.instancesServed,
      directRefused: direct.refused,
      pooledRefused: pooled.refused,
      servedRatio: div(pooled.instancesServed, direct.instancesServed),
      opsOkRatio: div(pooled.opsOk, direct.opsOk),
      throughputRatio: div(pooled.throughputOkPerS, direct.throughputOkPerS),
      p95Ratio: div(pooled.latencyOk.p95Ms, direct.latencyOk.p95Ms),
      memoryPerServedRatio: div(pooled.memory.backendsPssPerServedMb, direct.memory.backendsPssPerServedMb),
      serverMemoryPerServedRatio: div(pooled.memory.serverPssPerServedMb, direct.memory.backendsPssPerServedMb),
    });
  }
  return ratios;
}

const fmt = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits });
const pct = (ratio: number | null): string => (ratio === null ? '–' : `${fmt((1 - ratio) * 100, 0)}%`);
const x = (ratio: number | null, digits = 2): string => (ratio === null ? '–' : `${fmt(ratio, digits)}×`);

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function scaleTable(results: BenchResults): string {
  return table(
    [
      'N instances',
      'mode',
      'think ms / window s',
      'conn / instance',
      'refused: 53300 / other',
      'served',
      'ops ok',
      'ops failed',
      'ops/s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'PG backends (peak)',
      'backends PSS MB',
      'MB / client served',
      'client loop delay p99 ms',
      'PgBouncer CPU % (wave / window)',
    ],
    results.scale.map((s) => [
      fmt(s.instances, 0),
      s.mode === 'session' ? 'session (direct)' : 'transaction (PgBouncer)',
      `${fmt(s.thinkMs, 0)} / ${fmt(s.windowMs / 1000, 0)}`,
      String(s.connectionLimit),
      `${fmt(s.refusedByServer, 0)} / ${fmt(s.refused - s.refusedByServer, 0)}`,
      fmt(s.instancesServed, 0),
      fmt(s.opsOk, 0),
      fmt(s.opsFailed + s.opsUnfinished, 0),
      fmt(s.throughputOkPerS, 0),
      fmt(s.latencyOk.p50Ms),
      fmt(s.latencyOk.p95Ms),
      fmt(s.latencyOk.p99Ms),
      fmt(s.memory.backendsAtPeak, 0),
      fmt(s.memory.backendsPssMb),
      s.memory.pgbouncerPssMb === null
        ? fmt(s.memory.backendsPssPerServedMb, 3)
        : `${fmt(s.memory.backendsPssPerServedMb, 3)} (+PgBouncer: ${fmt(s.memory.serverPssPerServedMb, 3)})`,
      fmt(s.eventLoopDelayP99Ms, 0),
      s.pgbouncerCpuPct === null ? '–' : `${fmt(s.pgbouncerCpuPct.warmup, 0)} / ${fmt(s.pgbouncerCpuPct.window, 0)}`,
    ]),
  );
}

function ratioTable(results: BenchResults): string {
  return table(
    ['N', 'refused direct → pooled', 'served (pooled ÷ direct)', 'ops ok', 'ops/s', 'p95', 'memory / client served'],
    results.ratios.map((r) => [
      fmt(r.instances, 0),
      `${fmt(r.directRefused, 0)} → ${fmt(r.pooledRefused, 0)}`,
      x(r.servedRatio),
      x(r.opsOkRatio),
      x(r.throughputRatio),
      x(r.p95Ratio),
      `${x(r.memoryPerServedRatio, 3)} (with PgBouncer ${x(r.serverMemoryPerServedRatio, 3)})`,
    ]),
  );
}

function overheadTable(results: BenchResults): string {
  const rows: string[][] = [];
  const w = results.wrapperOverhead;
  if (w) {
    rows.push([
      `BEGIN; point select; COMMIT through PgBouncer, ${w.concurrency} concurrent: raw pg / raw \`prisma.$transaction\` / \`withPooling\``,
      `${fmt(w.opsPerS.rawPg, 0)} / ${fmt(w.opsPerS.rawPrisma, 0)} / ${fmt(w.opsPerS.withPooling, 0)} tx/s`,
    ]);
    rows.push([
      'throughput ratio: `withPooling` ÷ raw `$transaction`; raw `$transaction` ÷ raw pg',
      `${x(w.ratios.withPoolingVsRawPrisma, 3)}; ${x(w.ratios.rawPrismaVsRawPg, 3)}`,
    ]);
    rows.push([
      'mean per call, one at a time: raw pg / raw `$transaction` / `withPooling`',
      `${fmt(w.meanUsAtC1.rawPg, 0)} / ${fmt(w.meanUsAtC1.rawPrisma, 0)} / ${fmt(w.meanUsAtC1.withPooling, 0)} µs`,
    ]);
    rows.push([
      'added per call: `withPooling` over raw `$transaction`; Prisma over raw pg',
      `${fmt(w.addedUs.withPoolingOverRawPrisma, 0)} µs; ${fmt(w.addedUs.rawPrismaOverRawPg, 0)} µs`,
    ]);
  }
  const l = results.loginCost;
  if (l) {
    rows.push([
      'PgBouncer CPU per client login (SCRAM): plain-text password in auth_file vs the SCRAM verifier (used for the runs above)',
      `${fmt(l.plainTextCpuMsPerLogin, 2)} vs ${fmt(l.scramVerifierCpuMsPerLogin, 2)} ms`,
    ]);
  }
  const m = results.metricsCost;
  if (m)
    rows.push([
      'one `metrics.recordOperation` (a bare histogram record, for scale)',
      `${fmt(m.nsPerRecordOperation)} ns (${fmt(m.nsPerHistogramRecord)} ns)`,
    ]);
  const p = results.pgbench;
  if (p) {
    rows.push([
      `pgbench (C client), same SQL, same PgBouncer: \`${p.command}\``,
      p.tps === null ? `skipped: ${p.note}` : `${fmt(p.tps, 0)} tx/s (latency avg ${fmt(p.latencyAvgMs, 2)} ms)`,
    ]);
    if (p.ratio !== null) rows.push(['`withPooling` ÷ pgbench', x(p.ratio, 3)]);
  }
  const s = results.statements;
  if (s) {
    rows.push([
      `session mode, direct, ${s.concurrency} concurrent reads: named (cached) vs unnamed statements`,
      `${fmt(s.named.opsPerS, 0)} vs ${fmt(s.unnamed.opsPerS, 0)} ops/s (${x(s.namedVsUnnamed, 3)}); p95 ${fmt(s.named.p95Ms, 2)} vs ${fmt(s.unnamed.p95Ms, 2)} ms`,
    ]);
    const t = s.throughPgbouncer;
    rows.push([
      'through PgBouncer 1.18 (transaction mode), no retries: prepared-statement errors with named vs unnamed (our default)',
      `${fmt(t.named.preparedStatementErrors, 0)} of ${fmt(t.named.ok + t.named.failed, 0)} vs ${fmt(t.unnamed.preparedStatementErrors, 0)} of ${fmt(t.unnamed.ok + t.unnamed.failed, 0)}`,
    ]);
  }
  return table(['overhead', 'measured'], rows);
}

/** What each measurement shows, in words; every number in it comes from `results`. The overhead bullet goes with the overhead table. */
export function commentary(results: BenchResults): { scale: string[]; overheads: string[] } {
  const lines: string[] = [];
  const overheadLines: string[] = [];
  const { ratios, scale } = results;
  const pooled = scale.filter((s) => s.mode === 'transaction');
  const direct = scale.filter((s) => s.mode === 'session');
  const slots = results.settings.maxConnections - results.settings.superuserReserved;

  const biggest = ratios.at(-1);
  if (biggest) {
    lines.push(
      `**Instances served** — with max_connections = ${results.settings.maxConnections} (${slots} for the app), direct connections served at most ${fmt(Math.max(...direct.map((d) => d.instancesServed)), 0)} instances and refused ${fmt(biggest.directRefused, 0)} of ${fmt(biggest.instances, 0)}; through PgBouncer ${fmt(biggest.pooledServed, 0)} of ${fmt(biggest.instances, 0)} were served (${x(biggest.servedRatio, 1)}) on ${fmt(results.settings.pgbouncerPoolSize, 0)} server connections.`,
    );
  }
  const first = ratios[0];
  if (first) {
    const d = direct.find((s) => s.instances === first.instances);
    const p = pooled.find((s) => s.instances === first.instances);
    const perBackend = (s: ScaleResult | undefined) =>
      s && s.memory.backendsAtPeak > 0 ? s.memory.backendsPssMb / s.memory.backendsAtPeak : null;
    const last = ratios.at(-1) ?? first;
    lines.push(
      `**Postgres memory** — per client served: ${fmt(d?.memory.backendsPssPerServedMb, 2)} MB direct vs ${fmt(p?.memory.backendsPssPerServedMb, 2)} MB pooled at N = ${fmt(first.instances, 0)} (${pct(first.memoryPerServedRatio)} less), ${pct(last.memoryPerServedRatio)} less at N = ${fmt(last.instances, 0)} (${pct(last.serverMemoryPerServedRatio)} counting PgBouncer's own memory). Per server connection: ${fmt(perBackend(d), 2)} MB direct vs ${fmt(perBackend(p), 2)} MB pooled (PSS; a pooled backend runs many clients' work): the saving is fewer backends per client served.`,
    );
  }
  const pLines = ratios.map((r) => {
    const d = direct.find((s) => s.instances === r.instances);
    const p = pooled.find((s) => s.instances === r.instances);
    return `N = ${fmt(r.instances, 0)}: ${fmt(d?.latencyOk.p95Ms)} ms direct (${fmt(d?.opsOk, 0)} ops ok) vs ${fmt(p?.latencyOk.p95Ms)} ms pooled (${fmt(p?.opsOk, 0)} ops ok)`;
  });
  const d0 = direct[0];
  const p0 = pooled[0];
  const hopSentence =
    d0 && p0 && d0.latencyOk.p50Ms <= p0.latencyOk.p50Ms
      ? `At N = ${fmt(d0.instances, 0)} an admitted direct connection is not slower per operation (p50 ${fmt(d0.latencyOk.p50Ms)} vs ${fmt(p0.latencyOk.p50Ms)} ms: one hop fewer). `
      : d0 && p0
        ? `At N = ${fmt(d0.instances, 0)} direct was slower even at p50 (${fmt(d0.latencyOk.p50Ms)} vs ${fmt(p0.latencyOk.p50Ms)} ms) despite one hop fewer: ${fmt(d0.memory.backendsAtPeak, 0)} backends instead of ${fmt(p0.memory.backendsAtPeak, 0)} share the same cores, and the ${fmt(d0.refused, 0)} refused instances keep forking backends that are then turned away. `
        : '';
  const worstPooled = pooled.at(-1);
  const clientBound =
    worstPooled && worstPooled.eventLoopDelayP99Ms > worstPooled.latencyOk.p95Ms / 4
      ? ` At N = ${fmt(worstPooled.instances, 0)} much of that is the simulation itself: the simulated instances' Node processes had an event-loop delay p99 of ${fmt(worstPooled.eventLoopDelayP99Ms, 0)} ms, i.e. ${fmt(worstPooled.instances, 0)} Prisma clients on 2 shared cores are CPU-bound before Postgres is.`
      : '';
  lines.push(
    `**p95 latency** — ${pLines.join('; ')}. ${hopSentence}Direct mode's main cost shows up as refused instances and failed operations (refused instances keep retrying, and each attempt costs Postgres a backend fork), not in the p95 of the operations that did run. Pooled p95 rises with N because every instance is admitted and the work queues for ${fmt(results.settings.pgbouncerPoolSize, 0)} server connections, where direct mode refuses it.${clientBound}`,
  );
  const psErrors = pooled.reduce((t, s) => t + s.preparedStatementErrors, 0);
  const opsPooled = pooled.reduce((t, s) => t + s.opsOk + s.opsFailed, 0);
  const named = results.statements?.throughPgbouncer.named;
  lines.push(
    `**Prepared-statement errors** — ${fmt(psErrors, 0)} in ${fmt(opsPooled, 0)} pooled operations (unnamed statements)${named ? `, against ${fmt(named.preparedStatementErrors, 0)} in ${fmt(named.ok + named.failed, 0)} when named statements are forced through PgBouncer 1.18` : ''}.`,
  );
  const w = results.wrapperOverhead;
  if (w && results.pgbench) {
    overheadLines.push(
      `**Overhead** — \`withPooling\` adds ${fmt(w.addedUs.withPoolingOverRawPrisma, 0)} µs per call over a raw \`$transaction\` (throughput ${x(w.ratios.withPoolingVsRawPrisma, 3)}); Prisma itself costs ${fmt(w.addedUs.rawPrismaOverRawPg, 0)} µs over raw pg${results.pgbench.ratio !== null ? `, and our stack reaches ${x(results.pgbench.ratio, 2)} of pgbench's throughput on the same SQL` : ''}. One run of means is noise-dominated at this scale; [round trips](round-trips.md) compares the call paths interleaved, with their spread.`,
    );
  }
  // The login cost's figures are in the overheads table only (one run, one figure); this says what they mean.
  if (results.loginCost) {
    lines.push(
      '**Logins in a cold-start wave** — PgBouncer 1.18 runs on one thread, and a SCRAM client login costs it far more CPU with plain-text passwords in its auth_file than with the SCRAM verifier Postgres stores (what `auth_query` returns; the overheads table below has both figures). A cold-start wave of instances is a wave of logins: give PgBouncer verifiers.',
    );
  }
  const cpuRows = pooled.filter((r) => r.pgbouncerCpuPct !== null);
  if (cpuRows.length > 0) {
    const peakOf = (r: (typeof cpuRows)[number]) => Math.max(r.pgbouncerCpuPct?.warmup ?? 0, r.pgbouncerCpuPct?.window ?? 0);
    const busiest = cpuRows.reduce((a, b) => (peakOf(b) > peakOf(a) ? b : a));
    const peak = peakOf(busiest);
    // PgBouncer's own answer to its one thread is several processes on one port (so_reuseport, PgBouncer ≥ 1.12).
    lines.push(
      `**PgBouncer's one thread** — its CPU peaked at ${fmt(peak, 0)}% of a core (N = ${fmt(busiest.instances, 0)}, ${fmt(busiest.connected, 0)} instances connected). ${
        peak < 80
          ? 'It was not the limit on this machine, so several PgBouncer processes sharing the port (`so_reuseport`) were not needed; what queues is the work for the server connections.'
          : 'That is its limit: run several PgBouncer processes sharing the port (`so_reuseport = 1`, one `unix_socket_dir` and `pidfile` each).'
      }`,
    );
  }
  const load = results.environment.loadAverage;
  lines.push(
    `**Caveat** — client and server share ${results.environment.cores} cores here (the simulated instances' Node processes, PgBouncer and Postgres); the 1-minute load average went up to ${fmt(load.maxSeen)} during the run. Absolute throughput and latency are this box's, not a production database's; the ratios are the point.`,
  );
  return { scale: lines, overheads: overheadLines };
}

/**
 * The docs blocks of the sections that ran: `bench` (scale) and `bench-overheads` in docs/benchmarks.md,
 * so a run of one section (`--sections=`) rewrites its own tables and leaves the other's.
 */
export function renderBlocks(results: BenchResults): Record<string, string> {
  const notes = commentary(results);
  const blocks: Record<string, string> = {};
  if (results.scale.length > 0) blocks.bench = renderScale(results, notes.scale);
  if (results.wrapperOverhead) {
    blocks['bench-overheads'] = [
      `Generated by \`npm run bench -- ${benchCommand(results)}\` on ${results.generatedAt.slice(0, 10)}, same machine and versions as above.`,
      '',
      overheadTable(results),
      '',
      ...notes.overheads.map((line) => `- ${line}`),
    ].join('\n');
  }
  return blocks;
}

/** Everything, for stdout. */
export function renderMarkdown(results: BenchResults): string {
  return Object.values(renderBlocks(results)).join('\n\n');
}

function simulatedClient(results: BenchResults): string {
  const clients = new Set(results.scale.map((s) => s.client));
  if (clients.size > 1) return 'Prisma client or light client, per row';
  return clients.has('light')
    ? 'own light client in place of a PrismaClient: our driver adapter and wrappers, the SQL Prisma sends, no query compiler; see below'
    : 'own Prisma client';
}

function renderScale(results: BenchResults, notes: string[]): string {
  const e = results.environment;
  const v = e.versions;
  const s = results.settings;
  const header = [
    `Generated by \`npm run bench -- ${benchCommand(results)}\` on ${results.generatedAt.slice(0, 10)} (${fmt(results.durationS, 0)} s): ${e.cores} cores (${e.cpuModel}), ${fmt(e.memoryGiB)} GiB, open files limit ${e.openFilesLimit ?? '?'}; Node ${v.node}, PostgreSQL ${v.postgres}, PgBouncer ${v.pgbouncer}, Prisma ${v.prisma}, pg ${v.pg}.`,
    '',
    `Setup: Postgres \`max_connections = ${s.maxConnections}\` (${s.superuserReserved} reserved for superusers); PgBouncer \`pool_mode = transaction\`, \`default_pool_size = ${s.pgbouncerPoolSize}\`, \`max_client_conn = ${s.pgbouncerMaxClientConn}\`. Each simulated instance is its own manager (${simulatedClient(results)}, own pg pool with \`connection_limit\` from the budget rule, real TCP connections) and makes one request, then pauses between 0.5 and 1.5 × the think time, for the window after its cold start (both per row below: ${fmt(s.thinkMs, 0)} ms and ${fmt(s.windowMs / 1000, 0)} s unless the row says more, so that N past 1,000 offers the load N = 1,000 does); the mix is 6 reads, 3 Serializable writes and 1 batch in 10. ${s.connectTimeoutS ? `Every instance's URL carries \`connect_timeout=${s.connectTimeoutS}\` (the package's default is 5 s): its logins share this machine's cores with every other instance's, where a real instance has its own. ` : ''}Refused = the instance's first request failed: with 53300 (too many connections), or otherwise (connect or pool timeouts while this box is saturated). Memory = summed PSS of the Postgres client backends at the peak sample. PgBouncer CPU = its user + system time as % of one core (it runs on one thread), during the cold-start wave and during the window.`,
  ];
  const skipped = results.skipped.length > 0 ? ['', ...results.skipped.map((line) => `- Not run: ${line}`)] : [];
  return [
    ...header,
    '',
    scaleTable(results),
    '',
    'Pooled ÷ direct:',
    '',
    ratioTable(results),
    ...skipped,
    '',
    ...notes.map((line) => `- ${line}`),
  ].join('\n');
}
