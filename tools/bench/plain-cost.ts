/**
 * What a plain call through `manager.prisma` costs against the bare client (docs/round-trips.md,
 * `plain-cost` block): throughput at RTT 0 through PgBouncer, A B A B interleaved
 * (tools/bench/interleaved.ts), for a read (`user.findFirst`) and a write (`activityLog.create`).
 * Arms, each against the bare client on the same pool:
 * - the bare client itself (A against A): the method's own spread, what a ratio can be by chance;
 * - `manager.prisma`: the package's whole per-call path (call proxy, runner, retry loop, metrics);
 * - a no-op `$extends({ query: { $allOperations } })`: what any query extension costs in Prisma
 *   itself, for comparison (it was the floor while `manager.prisma` was one; it no longer is);
 * - for `create`, the same path with `plainWriteCommit: 'one-flight'` and with settling off
 *   (`settleTimeoutMs: 0`): the default (`'confirmed'`) pays a round trip and three statements more
 *   so that a lost COMMIT can be settled (docs/reliability.md); settling off is the package's own
 *   per-call work alone;
 * - `create` through `manager.prisma` against the bare client whose statement our adapter commits
 *   the same way (`'confirmed'`, an outcome record around the call): like with like, what the
 *   package's call path adds to a write whose COMMIT can be settled, apart from that COMMIT.
 *
 * `npx tsx tools/bench/plain-cost.ts [--quick] [--no-docs] [--node=24]` runs it alone on its own
 * stack, on this Node or on the one `--node` names (tools/bench/node-runtime.ts: the docs' second
 * table, `plain-cost-node<major>`); `npm run bench -- --sections=plain-cost` runs it within the bench.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createOutcomeRecord, runWithOutcomeRecord } from '../../src/adapter/outcome-record.ts';
import { type ConnectionPoolManagerOptions, createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { type LocalStack, startStack } from '../stack/start-stack.ts';
import { type InterleavedResult, interleaved } from './interleaved.ts';
import { currentNode, type NodeRuntime, resolveNode } from './node-runtime.ts';
import { type AppClient, createAppClient, seed } from './workload.ts';

type Arm = 'bare' | 'prisma' | 'noop-extends' | 'prisma-one-flight' | 'prisma-settling-off';

/** What an arm is compared with: the bare client as an app calls it, or doing the same confirmed commit. */
type Baseline = 'bare' | 'bare-confirmed';

const BASELINE_NAMES: Record<Baseline, string> = {
  bare: 'bare client',
  'bare-confirmed': "bare client, same `'confirmed'` commit",
};

const ARM_NAMES: Record<Arm, string> = {
  bare: 'through the bare client itself (A against A: the spread of the method alone)',
  prisma: 'through `manager.prisma` (defaults)',
  'noop-extends': 'through a no-op query `$extends` (for comparison)',
  'prisma-one-flight': "through `manager.prisma`, `plainWriteCommit: 'one-flight'`",
  'prisma-settling-off': 'through `manager.prisma`, settling off (`settleTimeoutMs: 0`)',
};

export interface PlainCostResults {
  generatedAt: string;
  command: string;
  /** The Node that measured (`v20.20.2`). */
  node: string;
  options: { pairs: number; callsPerBlock: number; concurrency: number };
  /** Each row: A = the arm, B = the bare client. */
  rows: { name: string; operation: 'findFirst' | 'create'; arm: Arm; baseline: Baseline; result: InterleavedResult }[];
}

/**
 * Measures in a child process on plain `node`, this file bundled by esbuild: under tsx (how the
 * bench runs) every promise costs about three times what it costs in an app's compiled code (a
 * three-deep async chain: 770 ns under tsx, 241 ns on plain node, measured here), which charges an
 * arm for each promise it adds beyond what it costs in production.
 */
export async function measurePlainCost(
  stack: LocalStack,
  users: number,
  quick: boolean,
  log: (line: string) => void,
  command = `npx tsx tools/bench/plain-cost.ts${quick ? ' --quick' : ''}`,
  node: NodeRuntime = currentNode(),
): Promise<PlainCostResults> {
  const bundle = path.join(import.meta.dirname, '.compiled-plain-cost.mjs');
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: bundle,
    logLevel: 'warning',
  });
  try {
    const child = spawn(node.path, [bundle, '--child'], {
      env: { ...process.env, PLAIN_COST_POOLER_URL: stack.poolerUrl, PLAIN_COST_USERS: String(users), PLAIN_COST_QUICK: quick ? '1' : '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`plain-cost: the measuring process exited with ${code}`);
    const results = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as PlainCostResults;
    log(`plain-cost: measured on plain node ${results.node} (compiled), not under tsx`);
    return { ...results, command };
  } finally {
    rmSync(bundle, { force: true });
  }
}

/** The measurement itself, in this process. */
async function measureHere(poolerUrl: string, users: number, quick: boolean, log: (line: string) => void): Promise<PlainCostResults> {
  const command = '';
  const options = quick ? { pairs: 5, callsPerBlock: 500, concurrency: 6 } : { pairs: 31, callsPerBlock: 2000, concurrency: 6 };
  const managerWith = (extra: Partial<ConnectionPoolManagerOptions<AppClient>> = {}) =>
    createConnectionPoolManager({
      createClient: createAppClient,
      env: { DATABASE_URL: poolerUrl, USE_TRANSACTION_MODE: 'true' },
      pool: { connectionLimit: options.concurrency },
      globalKey: null,
      ...extra,
    });
  const manager = managerWith();
  const oneFlight = managerWith({ plainWriteCommit: 'one-flight' });
  const settlingOff = managerWith({ settleTimeoutMs: 0 });
  try {
    const bare = manager.client;
    const noop = bare.$extends({ query: { $allOperations: ({ args, query }) => query(args) } }) as unknown as typeof bare;
    const prisma = manager.prisma;
    const userId = (i: number) => String((i % users) + 1);
    const read = (client: Pick<typeof bare, 'user'>) => (i: number) => client.user.findFirst({ where: { id: userId(i) } });
    const run = randomUUID();
    const write = (client: Pick<typeof bare, 'activityLog'>) => (i: number) =>
      client.activityLog.create({ data: { userId: userId(i), action: `${run}:${i}` } });
    const rows: PlainCostResults['rows'] = [];
    const arms: [Arm, typeof bare][] = [
      ['prisma', prisma],
      ['noop-extends', noop],
    ];
    const writeArms: [Arm, typeof bare][] = [...arms, ['prisma-one-flight', oneFlight.prisma], ['prisma-settling-off', settlingOff.prisma]];
    // The bare client's create with the adapter committing it as manager.prisma's default does: the
    // record is what our adapter reads (src/adapter/create-adapter.ts); its settle is never asked
    // here, since no COMMIT is lost in this run. Awaited inside: Prisma's promise starts at `then`.
    const settleNever = () => Promise.resolve('unknown' as const);
    const bareConfirmed = (i: number) =>
      runWithOutcomeRecord(createOutcomeRecord({ settle: settleNever, plainWriteCommit: 'confirmed' }), async () => await write(bare)(i));
    const measure = async (
      operation: 'findFirst' | 'create',
      arm: Arm,
      baseline: Baseline,
      a: (i: number) => Promise<unknown>,
      b: (i: number) => Promise<unknown>,
    ) => {
      log(
        `plain-cost: ${operation} through ${arm} vs the ${BASELINE_NAMES[baseline]}, ${options.pairs} pairs of ${options.callsPerBlock} calls`,
      );
      rows.push({ name: `\`${operation}\` ${ARM_NAMES[arm]}`, operation, arm, baseline, result: await interleaved(a, b, options) });
    };
    // A against A first: how far from 1 the same code lands here, by chance alone.
    await measure('findFirst', 'bare', 'bare', read(bare), read(bare));
    for (const [arm, client] of arms) await measure('findFirst', arm, 'bare', read(client), read(bare));
    for (const [arm, client] of writeArms) await measure('create', arm, 'bare', write(client), write(bare));
    await measure('create', 'prisma', 'bare-confirmed', write(prisma), bareConfirmed);
    return {
      generatedAt: new Date().toISOString(),
      command,
      node: process.version,
      options,
      rows,
    };
  } finally {
    await Promise.all([manager.disconnect(), oneFlight.disconnect(), settlingOff.disconnect()]);
  }
}

const fmt = (s: { median: number; p10: number; p90: number }, unit = '') => `${s.median}${unit} (${s.p10}–${s.p90})`;

export function renderPlainCost(results: PlainCostResults): string {
  const { pairs, callsPerBlock, concurrency } = results.options;
  return [
    `Generated by \`${results.command}\` on ${results.generatedAt.slice(0, 10)}, on Node ${results.node} and a shared 2-core machine: through PgBouncer 1.18 (transaction mode), RTT ≈ 0, ${concurrency} callers, ${pairs} interleaved pairs of ${callsPerBlock} calls per arm; median (10th–90th percentile) of the per-pair ratios against the baseline on the same pool. ≥ 1 means the arm is as fast as its baseline.`,
    '',
    '| call | against | throughput ÷ baseline | CPU µs per call, arm / baseline |',
    '|---|---|---|---|',
    ...results.rows.map(
      (r) =>
        `| ${r.name} | ${BASELINE_NAMES[r.baseline]} | ${fmt(r.result.throughputRatio, '×')} | ${r.result.a.cpuUs} / ${r.result.b.cpuUs} |`,
    ),
  ].join('\n');
}

/** The docs block a run on `node` writes: `plain-cost` on the running Node, `plain-cost-node<major>` on another. */
export function plainCostBlock(node: string, running = process.version): string {
  const major = (version: string) => version.replace(/^v/, '').split('.')[0];
  return major(node) === major(running) ? 'plain-cost' : `plain-cost-node${major(node)}`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const log = (line: string) => console.error(line);
  const nodeSpec = process.argv.find((a) => a.startsWith('--node='))?.slice('--node='.length);
  // Before the stack starts: a bad --node fails at once.
  const node = nodeSpec === undefined ? currentNode() : await resolveNode(nodeSpec, log);
  const command = `npx tsx tools/bench/plain-cost.ts${quick ? ' --quick' : ''}${nodeSpec === undefined ? '' : ` --node=${nodeSpec}`}`;
  const stack = await startStack({ log });
  try {
    const users = 200;
    await seed(stack.directUrl, users);
    const results = await measurePlainCost(stack, users, quick, log, command, node);
    console.log(JSON.stringify(results));
    console.log(renderPlainCost(results));
    if (!process.argv.includes('--no-docs')) {
      const block = plainCostBlock(results.node);
      updateGeneratedBlocks('docs/round-trips.md', { [block]: renderPlainCost(results) });
      log(`plain-cost: wrote docs/round-trips.md (${block})`);
    }
  } finally {
    await stack.stop();
  }
}

async function child(): Promise<void> {
  const results = await measureHere(
    process.env.PLAIN_COST_POOLER_URL ?? '',
    Number(process.env.PLAIN_COST_USERS),
    process.env.PLAIN_COST_QUICK === '1',
    (line) => console.error(line),
  );
  console.log(JSON.stringify(results));
}

if (process.argv.includes('--child')) await child();
else if (import.meta.url === `file://${process.argv[1]}`) await main();
