// `npm test` on a fresh clone must work after `npm install` alone: this `pretest` step makes
// the generated client and dist/, and installs what the test suite needs beyond the root's node_modules — the examples' own packages
// (each has its own lock file) and, as root on Debian/Ubuntu, Debian's chromium for the browser
// test. PostgreSQL and PgBouncer are installed by the local stack itself when missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function run(cmd, args, env = process.env) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// No `prepare` script (npm 11 warns about install scripts): generate the Prisma client and build
// dist/ here when a fresh clone has neither; the examples link dist/ (file:../..).
if (!existsSync('src/generated/prisma/client.ts')) {
  console.error('pretest: generating the Prisma client (npm run generate)');
  run('npm', ['run', 'generate']);
}
if (!existsSync('dist/index.js')) {
  console.error('pretest: building dist/ (npm run build)');
  run('npm', ['run', 'build']);
}

for (const example of ['examples/remix-app', 'examples/cloudflare-worker']) {
  if (!existsSync(`${example}/node_modules`)) {
    console.error(`pretest: installing the example's dependencies (npm ci --prefix ${example})`);
    run('npm', ['ci', '--prefix', example, '--no-audit', '--no-fund']);
  }
}

if (!existsSync('examples/next-app/node_modules')) {
  console.error('pretest: installing the Next.js example dependencies (npm ci --prefix examples/next-app)');
  run('npm', ['ci', '--prefix', 'examples/next-app', '--no-audit', '--no-fund']);
}

if (!existsSync('/usr/bin/chromium')) {
  const root = process.getuid?.() === 0;
  if (root && existsSync('/etc/debian_version')) {
    console.error("pretest: installing Debian's chromium for the browser test (apt-get install chromium)");
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], env);
    run('apt-get', ['install', '-y', '-qq', 'chromium'], env);
  } else {
    console.error('pretest: /usr/bin/chromium is missing; the browser test will fail. Install it with: sudo apt-get install chromium');
  }
}
