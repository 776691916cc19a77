/**
 * `npm run matrix:oldest`: the repository's integration suite (`vitest --project integration`) on the
 * OLDEST supported versions (tools/matrix/versions.ts: @prisma/client + prisma 7.10.0,
 * @prisma/adapter-pg 7.0.0 with its @prisma/driver-adapter-utils, pg 8.16.3) against PgBouncer
 * PGPOOL_PGBOUNCER_BIN (CI: 1.24.1). `npm test` runs the same suite on the newest versions (the
 * lock file's) and the system's PgBouncer 1.18, so between them both ends of every range and both
 * PgBouncers run it.
 *
 * The copy: the repository's tracked and untracked-but-not-ignored files (what `git ls-files` lists,
 * uncommitted edits included) in a scratch directory outside the repository, `npm ci` there from the
 * lock file, then the oldest versions installed over it with `npm install --no-save` (never the
 * repository's own node_modules), `npm run generate && npm run build` (the package must compile
 * against the oldest types too), and vitest.
 *
 *   npm run matrix:oldest [-- --keep] [-- <extra vitest args, e.g. a test file>]
 * Env: PGPOOL_PGBOUNCER_BIN (the PgBouncer the suite's stack runs; the system's when unset).
 * Writes the run's vitest JSON report to artifacts/vitest-oldest-results.json; exit code 1 when
 * anything failed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/markers.ts';
import { OLDEST } from './versions.ts';

const TLS_STACK_WHY =
  "starts the TLS local stack, whose PgBouncer certificate is for IP 127.0.0.1 only (so that `localhost` is a real mismatch); pg < 8.23.1 checks an IP host's certificate against 'localhost' (its upgradeToSSL passes no `host` to tls.connect), so with pg 8.16.3 no verify-full connection to it can succeed, the stack's own readiness check included";

/** Tests (by name) in files that otherwise run, excluded for the same reason: a vitest -t pattern. */
export const EXCLUDED_TESTS = { pattern: 'TLS-only PgBouncer', why: TLS_STACK_WHY } as const;

/**
 * Test files that cannot apply to the oldest versions, each with why. Everything else must pass.
 * Kept equal to the list in docs/supported-versions.md.
 */
export const EXCLUDED: readonly { readonly file: string; readonly why: string }[] = [
  {
    file: 'test/integration/cloudflare/worker.test.ts',
    why: 'runs examples/cloudflare-worker, which installs its own Prisma and pg from its own lock file: it would not run the oldest versions',
  },
  {
    file: 'test/integration/next/browser.test.ts',
    why: 'runs examples/next-app (its own lock file and node_modules) in Chromium: not the oldest versions',
  },
  {
    file: 'test/integration/next/server-action-kills.test.ts',
    why: 'runs examples/next-app (its own lock file and node_modules) in Chromium under PgBouncer KILLs: not the oldest versions',
  },
  {
    file: 'test/integration/remix/browser.test.ts',
    why: 'runs examples/remix-app (its own lock file and node_modules) in Chromium: not the oldest versions',
  },
  {
    file: 'test/integration/observability/dashboard.test.ts',
    why: 'runs examples/remix-app (its own lock file and node_modules) for Prometheus to scrape: not the oldest versions',
  },
  {
    file: 'test/integration/walkthrough/migrating-from-prisma-6.test.ts',
    why: "installs Prisma 7 and the packed package into Prisma 6 apps from the registry, as the migration page says: the apps' versions, not the oldest",
  },
  ...['url-forms', 'classify-tls-errors', 'client-identity', 'default-encryption', 'no-security-warning'].map((name) => ({
    file: `test/integration/tls/${name}.test.ts`,
    why: TLS_STACK_WHY,
  })),
  {
    file: 'test/integration/wrappers/round-trips.test.ts',
    why: "counts the round trips of pg's `pipeline` mode (pg ≥ 8.23.0); pg 8.16.3 has none, so every transaction costs one more by design (PGPOOL_PG_NO_PIPELINE, asserted by tools/matrix/run.ts)",
  },
];

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): number {
  const result = spawnSync(cmd, args, { cwd, env, stdio: 'inherit' });
  return result.status ?? 1;
}

function main(): number {
  const argv = process.argv.slice(2);
  const keep = argv.includes('--keep');
  const vitestArgs = argv.filter((a) => a !== '--keep');
  const started = performance.now();
  const step = (what: string) => console.error(`[oldest] ${what} (${Math.round((performance.now() - started) / 1000)} s)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgpool-oldest-'));
  try {
    step(`copying the repository to ${dir}`);
    const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: REPO_ROOT,
      encoding: 'buffer',
    });
    if (files.status !== 0) throw new Error('git ls-files failed');
    for (const file of files.stdout.toString('utf8').split('\0').filter(Boolean)) {
      const from = path.join(REPO_ROOT, file);
      if (!existsSync(from)) continue; // deleted in the work tree
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      copyFileSync(from, path.join(dir, file));
    }
    step('npm ci');
    if (sh('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir) !== 0) return 1;
    const pins = [
      `@prisma/client@${OLDEST.client}`,
      `prisma@${OLDEST.client}`,
      `@prisma/adapter-pg@${OLDEST.adapter}`,
      // What npm puts beside adapter-pg 7.0.0 in an app (the package depends on it at ^7.0.0, types only).
      `@prisma/driver-adapter-utils@${OLDEST.adapter}`,
      `pg@${OLDEST.pg}`,
    ];
    step(`npm install --no-save ${pins.join(' ')}`);
    if (sh('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...pins], dir) !== 0)
      return 1;
    step('npm run generate && npm run build');
    if (sh('npm', ['run', '--silent', 'generate'], dir) !== 0 || sh('npm', ['run', '--silent', 'build'], dir) !== 0) return 1;
    step(`vitest --project integration on PgBouncer ${process.env.PGPOOL_PGBOUNCER_BIN ?? '(the system one)'}`);
    const excludes = EXCLUDED.flatMap((e) => ['--exclude', e.file]);
    const skipTests = ['-t', `^(?!.*${EXCLUDED_TESTS.pattern})`];
    // A reporter on the command line replaces the config's: json again, so the report below is written.
    const reporters = ['--reporter=dot', '--reporter=json'];
    const status = sh('npx', ['vitest', 'run', '--project', 'integration', ...reporters, ...excludes, ...skipTests, ...vitestArgs], dir);
    const report = path.join(dir, 'artifacts', 'vitest-results.json');
    if (existsSync(report)) {
      mkdirSync(path.join(REPO_ROOT, 'artifacts'), { recursive: true });
      copyFileSync(report, path.join(REPO_ROOT, 'artifacts', 'vitest-oldest-results.json'));
    }
    step(`done, vitest exit code ${status}`);
    return status === 0 ? 0 : 1;
  } finally {
    if (keep) console.error(`[oldest] kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
