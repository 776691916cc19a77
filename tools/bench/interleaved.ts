/**
 * A against B, interleaved: blocks of calls alternate A B B A A B … (each pair in turn starts with
 * the other variant, so a drift of the machine's load hits both sides alike), and the answer is the
 * median of the per-pair ratios with its spread (10th–90th percentile). One long run of A then one
 * of B measures the machine's mood as much as the code (the quick bench once gave 0.949× and then
 * 1.572× for the same pair), which is why nothing here compares two separate runs.
 */

export interface BlockFigures {
  /** Wall-clock µs per call (block time ÷ calls; with concurrency c this is 1 ÷ throughput). */
  wallUs: number;
  /** Process CPU µs (user + system) per call. */
  cpuUs: number;
}

export interface Spread {
  median: number;
  p10: number;
  p90: number;
}

export interface InterleavedResult {
  pairs: number;
  callsPerBlock: number;
  concurrency: number;
  /** Medians over blocks. */
  a: BlockFigures;
  b: BlockFigures;
  /** Throughput of A ÷ throughput of B, per pair (= B's wall time ÷ A's). ≥ 1 means A is faster. */
  throughputRatio: Spread;
  /** CPU per call of B ÷ CPU per call of A, per pair. ≥ 1 means A costs less CPU. */
  cpuRatio: Spread;
  /** µs per call A adds over B (wall, concurrency 1 makes this the added latency), per pair. */
  addedWallUs: Spread;
  addedCpuUs: Spread;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] ?? 0) + ((sorted[hi] ?? 0) - (sorted[lo] ?? 0)) * (pos - lo);
}

export function spread(values: readonly number[], digits = 3): Spread {
  const r = (v: number) => Math.round(v * 10 ** digits) / 10 ** digits;
  return { median: r(quantile(values, 0.5)), p10: r(quantile(values, 0.1)), p90: r(quantile(values, 0.9)) };
}

/** Runs `calls` calls of `fn` from `concurrency` loops; wall and CPU µs per call. */
export async function runBlock(fn: (i: number) => Promise<unknown>, calls: number, concurrency: number): Promise<BlockFigures> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) await fn(next++);
    }),
  );
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / calls;
  const cpu = process.cpuUsage(cpu0);
  return { wallUs, cpuUs: (cpu.user + cpu.system) / calls };
}

export async function interleaved(
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
  options: { pairs: number; callsPerBlock: number; concurrency: number; warmupCalls?: number },
): Promise<InterleavedResult> {
  const { pairs, callsPerBlock, concurrency } = options;
  const warmup = options.warmupCalls ?? callsPerBlock;
  await runBlock(a, warmup, concurrency);
  await runBlock(b, warmup, concurrency);
  const as: BlockFigures[] = [];
  const bs: BlockFigures[] = [];
  for (let p = 0; p < pairs; p++) {
    if (p % 2 === 0) {
      as.push(await runBlock(a, callsPerBlock, concurrency));
      bs.push(await runBlock(b, callsPerBlock, concurrency));
    } else {
      bs.push(await runBlock(b, callsPerBlock, concurrency));
      as.push(await runBlock(a, callsPerBlock, concurrency));
    }
  }
  const perPair = (f: (x: BlockFigures, y: BlockFigures) => number) => as.map((x, i) => f(x, bs[i] as BlockFigures));
  const med = (list: BlockFigures[], key: keyof BlockFigures) =>
    Math.round(
      quantile(
        list.map((f) => f[key]),
        0.5,
      ) * 10,
    ) / 10;
  return {
    pairs,
    callsPerBlock,
    concurrency,
    a: { wallUs: med(as, 'wallUs'), cpuUs: med(as, 'cpuUs') },
    b: { wallUs: med(bs, 'wallUs'), cpuUs: med(bs, 'cpuUs') },
    throughputRatio: spread(perPair((x, y) => y.wallUs / x.wallUs)),
    cpuRatio: spread(perPair((x, y) => y.cpuUs / x.cpuUs)),
    addedWallUs: spread(
      perPair((x, y) => x.wallUs - y.wallUs),
      1,
    ),
    addedCpuUs: spread(
      perPair((x, y) => x.cpuUs - y.cpuUs),
      1,
    ),
  };
}
