/**
 * docs/migrating-from-prisma-6.md followed for real, in the order written, on two Prisma 6 apps
 * (fixtures/): a Next.js app with Prisma's `globalForPrisma` lib/prisma.ts and a React Router 7 app
 * with the Remix stacks' app/db.server.ts, each with `prisma-client-js`, `url = env("DATABASE_URL")`,
 * `directUrl = env("DIRECT_URL")`, a `package.json#prisma.seed` and a page that reads through the
 * singleton. Each is copied to a scratch folder outside the repository and the page's steps are
 * carried out from the page itself: its diff is applied to the schema, its `prisma.config.ts` recipe
 * written, its `sh` commands run by `sh -c` as written (the one substitution: the packed tarball of
 * this repository for the registry name `prisma-pgbouncer-pooling`), its `init --adopt` run through
 * the installed CLI and the result compared with the file the page shows, its grep run, its seed
 * command run; then `npm run build` and `npm start`, and Chromium reads the page through PgBouncer in
 * transaction mode. A step added, removed or renamed in the page fails here until this test carries
 * it out, and so does a command this test does not know.
 *
 * What a machine without the network's engines cannot do: `prisma migrate deploy` (no schema engine;
 * DESIGN.md) is the one command of the page not run — the table is created beforehand, as the
 * Prisma 6 app's existing database already has it — and every Prisma command gets
 * PRISMA_SCHEMA_ENGINE_BINARY (generate never calls it). Prisma 7 and the apps' packages come from
 * npm (`--prefer-offline`: from the cache when it has them).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort } from '../../../tools/stack/start-stack.ts';
import { applyDiff, type DocSection, docSteps, type FencedBlock, shellCommands } from '../../support/doc-steps.ts';
import { openPage, repoRoot } from '../../support/example-app.ts';

const stack = inject('stack');
const DOC = 'docs/migrating-from-prisma-6.md';
const FIXTURES = path.join(repoRoot, 'test/integration/walkthrough/fixtures');
/** The page's numbered steps, in order: this test carries out each one (a new step fails here first). */
const STEPS = [
  'The schema',
  '`prisma.config.ts`',
  'Install',
  "`init --adopt`: the singleton becomes the package's client",
  'Imports from `@prisma/client`',
  'Seeds and scripts',
  'What else changes',
  'Check, migrate, deploy',
];
/** The page's commands this machine cannot run, and why. */
const NOT_RUN: Record<string, string> = {
  'npx prisma migrate deploy': 'needs the schema engine, which cannot be downloaded here (DESIGN.md); the table exists already',
};
const SEEDED = 'Hello from the seed';

interface App {
  readonly name: 'next' | 'react-router';
  readonly fixture: string;
  /** The table the fixture's schema maps its Note model to. */
  readonly table: string;
}

const APPS: App[] = [
  { name: 'next', fixture: 'next-prisma6', table: 'walkthrough_next_note' },
  { name: 'react-router', fixture: 'react-router-prisma6', table: 'walkthrough_react_router_note' },
];

const sections = docSteps(readFileSync(path.join(repoRoot, DOC), 'utf8'));
const step = (title: string): DocSection => {
  const found = sections.find((s) => s.title === title);
  if (!found) throw new Error(`${DOC} has no step "${title}"`);
  return found;
};
const blocksOf = (section: DocSection, info: string): FencedBlock[] => section.blocks.filter((b) => b.info === info);
/** A value the page states in its prose, e.g. React Router's generator output. */
function stated(section: DocSection, pattern: RegExp, what: string): string {
  const match = pattern.exec(section.prose);
  if (!match?.[1]) throw new Error(`${DOC}, step ${section.number}: cannot find ${what} (${pattern})`);
  return match[1];
}

/** The section's prose says `text` (line breaks and runs of spaces read as one space). */
const says = (section: DocSection, text: string) => expect(section.prose.replace(/\s+/g, ' ')).toContain(text);

const redact = (text: string) => text.replace(/(\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@');

/** What every command gets: a PATH without this repository's node_modules/.bin, HOME (npm's cache), proxies. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((dir) => !dir.includes(`${path.sep}node_modules${path.sep}.bin`))
      .join(path.delimiter),
    // Offline `prisma generate` (DESIGN.md, scripts/prisma-generate.mjs); Next.js' telemetry stays home.
    PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
    NEXT_TELEMETRY_DISABLED: '1',
    npm_config_update_notifier: 'false',
  };
  for (const key of ['HOME', 'TMPDIR', 'LANG', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}
/** A CI or Vercel build: the pooled URL and nothing else (no DIRECT_URL, no DATABASE_URL_SESSION, no .env file). */
const buildEnv = () => ({ ...baseEnv(), DATABASE_URL: stack.poolerUrl });
/** The developer's machine: the pooled URL and the direct one under its Prisma 6 name. */
const devEnv = () => ({ ...baseEnv(), DATABASE_URL: stack.poolerUrl, DIRECT_URL: stack.directUrl });

interface Ran {
  code: number;
  output: string;
}

function sh(cwd: string, command: string, env: Record<string, string>, timeoutMs = 240_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd, env, timeout: timeoutMs, maxBuffer: 1 << 26 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: redact(`${stdout}${stderr}`) }),
    );
  });
}

/** Files of the app (not node_modules, builds or the generated client) that still import Prisma 6's client. */
function prisma6Importers(root: string, dir = root): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (['node_modules', '.next', 'build', 'generated', '.react-router'].includes(entry)) continue;
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) found.push(...prisma6Importers(root, file));
    else if (/\.(ts|tsx|js|mjs)$/.test(entry) && /from\s+['"]@prisma\/client['"]/.test(readFileSync(file, 'utf8')))
      found.push(path.relative(root, file));
  }
  return found;
}

/** `npm start` in its own process group, ready when it answers HTTP. */
async function serve(cwd: string, port: number): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const env = { ...baseEnv(), DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true', NODE_ENV: 'production', PORT: String(port) };
  const child = spawn('npm', ['start'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c.toString()));
  const output = () => redact(chunks.join(''));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`npm start: no answer on ${url} after 60 s:\n${output()}`);
    const answered = await fetch(url).then(
      () => true,
      () => false,
    );
    if (answered) return { child, url, output };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** SIGTERM to the server's process group (npm, sh and the server), SIGKILL after 10 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pid, 'SIGTERM');
  for (let waited = 0; alive() && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) process.kill(-pid, 'SIGKILL');
}

let tarball = '';
const scratch: string[] = [];
const servers: ChildProcess[] = [];
let browser: Browser | undefined;
let page: Page;
let browserErrors: string[] = [];
let db: pg.Client;

beforeAll(async () => {
  const packDir = mkdtempSync(path.join(os.tmpdir(), 'ppp-walkthrough-pack-'));
  scratch.push(packDir);
  const packed = await sh(repoRoot, `npm pack --pack-destination ${packDir}`, baseEnv(), 120_000);
  expect(packed.code, packed.output).toBe(0);
  const file = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  if (!file) throw new Error(`npm pack wrote no tarball:\n${packed.output}`);
  tarball = path.join(packDir, file);
  db = new pg.Client({ connectionString: stack.directUrl });
  await db.connect();
  const opened = await openPage();
  browser = opened.browser;
  page = opened.page;
  browserErrors = opened.errors;
}, 180_000);

afterAll(async () => {
  for (const child of servers) await stopGroup(child);
  await browser?.close();
  for (const app of APPS) await db?.query(`DROP TABLE IF EXISTS ${app.table}`).catch(() => {});
  await db?.end();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

it(`${DOC} has the steps this test carries out, in this order`, () => {
  expect(sections.slice(1).map((s) => s.title)).toEqual(STEPS);
  expect(sections.slice(1).map((s) => s.number)).toEqual(STEPS.map((_, i) => i + 1));
});

describe.each(APPS)('a Prisma 6 $name app moved by the page, step by step', (app) => {
  const next = app.name === 'next';
  let root = '';
  let failed = false;
  const timings: string[] = [];
  /** Each step runs only after the ones before it passed; the time it took is printed at the end. */
  const walk = (title: string, timeoutMs: number, body: () => Promise<void>) =>
    it(
      title,
      async () => {
        if (failed) throw new Error('an earlier step failed');
        const started = Date.now();
        try {
          await body();
        } catch (error) {
          failed = true;
          throw error;
        } finally {
          timings.push(`${title}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
      },
      timeoutMs,
    );
  const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
  const write = (file: string, text: string) => {
    // The page's files may live in folders the fixture does not have yet (lib/ in a fresh clone).
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  const run = async (command: string, env: Record<string, string>) => {
    const started = Date.now();
    const ran = await sh(root, command, env);
    timings.push(`  \`${command.replace(tarball, '<tarball>')}\` ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(ran.code, `${command}\n${ran.output}`).toBe(0);
    return ran;
  };
  const pkg = () => JSON.parse(read('package.json')) as Record<string, Record<string, string> | undefined>;

  // Set by the steps, read by the later ones.
  let singleton = '';
  let clientImport = '';
  let generatedClient = '';

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), `ppp-walkthrough-${app.name}-`));
    scratch.push(root);
    cpSync(path.join(FIXTURES, app.fixture), root, { recursive: true });
    // Stored without the dot so it does not apply to this repository's own files.
    renameSync(path.join(root, 'gitignore'), path.join(root, '.gitignore'));
    // The Prisma 6 app's database: its migrations applied long ago.
    await db.query(`DROP TABLE IF EXISTS ${app.table}`);
    await db.query(`CREATE TABLE ${app.table} (id serial PRIMARY KEY, title text NOT NULL UNIQUE)`);
  });

  afterAll(() => {
    console.error(`[walkthrough ${app.name}]\n${timings.join('\n')}`);
  });

  walk('the starting point: the singleton module the page starts from; Prisma 7 rejects its schema', 60_000, async () => {
    const intro = sections[0] as DocSection;
    if (next) {
      // The page's own lib/prisma.ts is the fixture's.
      const [module] = blocksOf(intro, 'ts partial');
      expect(module?.code).toMatch(/globalForPrisma[\s\S]*new PrismaClient\(\)[\s\S]*export default prisma/);
      singleton = 'lib/prisma.ts';
      write(singleton, module?.code ?? '');
    } else {
      // The Remix stacks' module, as step 4 names it.
      singleton = stated(step(STEPS[3] as string), /`init --adopt (app\/\S+)`/, "the React Router module's path");
      expect(read(singleton).replaceAll('"', "'")).toContain("singleton('prisma', () => new PrismaClient())");
    }
    expect(read('prisma/schema.prisma')).toMatch(/provider = "prisma-client-js"[\s\S]*url\s+= env\("DATABASE_URL"\)/);
    expect(pkg().prisma).toEqual({ seed: 'tsx prisma/seed.ts' });
    // Why the page changes the schema before installing: Prisma 7's generate rejects this one (P1012).
    const intro6 = intro.prose.replace(/\s+/g, ' ');
    expect(intro6).toContain('(`P1012`: "The datasource property `url` is no longer supported in schema files")');
    const prisma7 = await sh(root, `${path.join(repoRoot, 'node_modules/.bin/prisma')} generate`, buildEnv());
    expect(prisma7.code).not.toBe(0);
    expect(prisma7.output).toContain('P1012');
    expect(prisma7.output).toContain('The datasource property `url` is no longer supported in schema files');
  });

  walk('1. The schema: the diff applied, the output folder ignored', 30_000, async () => {
    const section = step(STEPS[0] as string);
    const [diff, ...more] = section.blocks;
    expect(diff?.info).toBe('diff');
    expect(more).toEqual([]);
    let schema = applyDiff(read('prisma/schema.prisma'), diff?.code ?? '');
    if (!next) {
      const output = stated(section, /React Router: `output = "([^"]+)"`/, "React Router's output");
      schema = schema.replace(/output\s*=\s*"[^"]*"/, (line) => line.replace(/"[^"]*"/, `"${output}"`));
      clientImport = stated(section, /imported as `(~\/[^`]+)`/, "React Router's client import");
    } else {
      clientImport = stated(section, /Next\.js imports it as `([^`]+)`/, "Next.js' client import");
    }
    write('prisma/schema.prisma', schema);
    const output = /output\s*=\s*"([^"]+)"/.exec(schema)?.[1] ?? '';
    const folder = path.relative(root, path.resolve(root, 'prisma', output));
    generatedClient = path.join(folder, 'client.ts');
    says(section, 'Add the output folder to `.gitignore`');
    write('.gitignore', `${read('.gitignore')}/${folder}\n`);
    expect(schema).not.toMatch(/url|prisma-client-js/);
  });

  walk('2. prisma.config.ts from the recipe; package.json#prisma.seed moved into it', 30_000, async () => {
    const section = step(STEPS[1] as string);
    expect(section.blocks).toEqual([]);
    says(section, '(recipes/prisma-config.md)');
    const recipe = docSteps(readFileSync(path.join(repoRoot, 'docs/recipes/prisma-config.md'), 'utf8'))
      .flatMap((s) => s.blocks)
      .find((b) => b.info === 'ts' && b.code.startsWith('// prisma.config.ts\n'));
    expect(recipe, 'docs/recipes/prisma-config.md: no prisma.config.ts block').toBeDefined();
    // "move its command to migrations.seed" (in Next.js under the react-server condition, as step 6 says).
    const manifest = pkg();
    let seed = manifest.prisma?.seed ?? '';
    if (next) {
      says(section, 'in Next.js, with `tsx --conditions=react-server`');
      seed = seed.replace(/^tsx /, 'tsx --conditions=react-server ');
    }
    const config = (recipe?.code ?? '').replace(/seed: '[^']*'/, `seed: '${seed}'`);
    expect(config).toContain(`seed: '${seed}'`);
    write('prisma.config.ts', config);
    says(section, 'Remove the `"prisma"` block');
    delete manifest.prisma;
    write('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
  });

  walk('3. Install (the packed package, Prisma 7 from npm) and generate with only the pooled URL', 420_000, async () => {
    const section = step(STEPS[2] as string);
    const [install, generate, ...more] = blocksOf(section, 'sh');
    expect(more).toEqual([]);
    const installs = shellCommands(install as FencedBlock);
    expect(installs).toHaveLength(1);
    let command = installs[0] ?? '';
    if (!next) {
      says(section, 'the same without `server-only`');
      command = command.replace(' server-only', '');
    }
    // The registry name → this repository's tarball; npm's own flags for a quiet, cache-first install.
    const packageArg = / prisma-pgbouncer-pooling(?= )/;
    expect(command).toMatch(packageArg);
    command = command.replace(packageArg, ` ${tarball}`).replace(/npm i(nstall)? /g, 'npm install --no-audit --no-fund --prefer-offline ');
    await run(command, buildEnv());
    expect(pkg().dependencies?.['@prisma/client']).toMatch(/^\^7\./);
    expect(pkg().devDependencies?.prisma).toMatch(/^\^7\./);
    expect(existsSync(path.join(root, 'node_modules/prisma-pgbouncer-pooling/dist/index.js'))).toBe(true);
    expect(existsSync(path.join(root, 'node_modules/server-only'))).toBe(next);

    // `npx prisma generate` in a build that has only the pooled URL.
    expect(shellCommands(generate as FencedBlock)).toEqual(['npx prisma generate']);
    expect(buildEnv()).not.toHaveProperty('DIRECT_URL');
    const generated = await run('npx prisma generate', buildEnv());
    expect(generated.output).toContain('Generated Prisma Client (7.');
    expect(existsSync(path.join(root, generatedClient))).toBe(true);

    // "the app's postinstall: prisma generate does the same on every later npm install" (a CI or Vercel build).
    rmSync(path.join(root, path.dirname(generatedClient)), { recursive: true });
    const reinstalled = await run('npm install --no-audit --no-fund --prefer-offline', buildEnv());
    expect(reinstalled.output).toContain('Generated Prisma Client (7.');
    expect(existsSync(path.join(root, generatedClient))).toBe(true);
  });

  walk('4. init --adopt rewrites the singleton in place into the file the page shows', 60_000, async () => {
    const section = step(STEPS[3] as string);
    const [command, ...more] = blocksOf(section, 'sh').flatMap(shellCommands);
    expect(more).toEqual([]);
    expect(command).toBe('npx prisma-pgbouncer-pooling init --adopt lib/prisma.ts');
    const adopt = (command ?? '').replace('lib/prisma.ts', singleton);
    const importers = readdirSync(path.join(root, 'app'), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.tsx?$/.test(f) && !f.startsWith('generated'))
      .map((f) => [f, read(`app/${f}`)]);
    const ran = await run(adopt, devEnv());
    expect(ran.output).toContain(`adopted ${singleton}`);
    const [shown] = blocksOf(section, 'ts');
    let expected = shown?.code ?? '';
    if (next) {
      expect(read(singleton)).toBe(expected);
    } else {
      // "the same body without the Next.js lines", the React Router client import, and the module's own exports (no default).
      expected = expected
        .replace("import 'server-only';\n", '')
        .replace("  globalKey: 'app',\n", '')
        .replace("from '@/generated/prisma/client'", `from '${clientImport}'`)
        .replace('export default prisma;\n', '');
      const lines = (text: string) => text.split('\n').filter(Boolean).sort();
      expect(lines(read(singleton))).toEqual(lines(expected));
    }
    // The modules that import the singleton are untouched.
    for (const [file, text] of importers) if (`app/${file}` !== singleton) expect(read(`app/${file}`)).toBe(text);
  });

  walk("5. Imports from '@prisma/client': the page's grep finds them, each moves to the generated client", 60_000, async () => {
    const section = step(STEPS[4] as string);
    expect(section.blocks).toEqual([]);
    const grep = stated(section, /`(grep [^`]+)`/, 'the grep command');
    if (!next) clientImport = stated(section, /React Router: `(~\/[^`]+)`/, "React Router's import path");
    else says(section, `\`${clientImport}\``);
    const before = prisma6Importers(root);
    expect(before.length).toBeGreaterThan(0);
    const found = await sh(root, grep, devEnv());
    const files = [
      ...new Set(
        found.output
          .split('\n')
          .filter(Boolean)
          .map((line) => path.normalize(line.split(':')[0] ?? '')),
      ),
    ];
    expect(files.sort()).toEqual(before.sort());
    for (const file of files) write(file, read(file).replace(/(from\s+['"])@prisma\/client(['"])/g, `$1${clientImport}$2`));
    expect(prisma6Importers(root)).toEqual([]);
    expect((await sh(root, grep, devEnv())).output).toBe('');
  });

  walk("6. Seeds and scripts: the page's tsx command and `prisma db seed` run the seed through the adopted module", 120_000, async () => {
    const section = step(STEPS[5] as string);
    const commands = blocksOf(section, 'sh').flatMap(shellCommands);
    expect(commands).toEqual(['npx tsx --conditions=react-server prisma/seed.ts']);
    for (const command of commands) await run(command, devEnv());
    // The command step 2 moved into prisma.config.ts.
    const seeded = await run('npx prisma db seed', devEnv());
    expect(seeded.output).toContain('The seed command has been executed');
    const { rows } = await db.query<{ title: string }>(`SELECT title FROM ${app.table}`);
    expect(rows).toEqual([{ title: SEEDED }]);
  });

  walk('7. What else changes: nothing to run', 10_000, async () => {
    expect(step(STEPS[6] as string).blocks).toEqual([]);
  });

  walk('8. check, then `npm run build` with only the pooled URL', 300_000, async () => {
    const commands = blocksOf(step(STEPS[7] as string), 'sh').flatMap(shellCommands);
    expect(commands).toEqual(['npx prisma-pgbouncer-pooling check', 'npx prisma migrate deploy', 'npm run build']);
    for (const command of commands) {
      if (command in NOT_RUN) continue;
      if (command === 'npm run build') {
        await run(command, buildEnv());
      } else {
        const checked = await run(command, devEnv());
        expect(checked.output).toMatch(/(\d+)\/\1 checks passed/);
      }
    }
    expect(existsSync(path.join(root, next ? '.next/BUILD_ID' : 'build/server/index.js'))).toBe(true);
  });

  walk('the built app serves its page through PgBouncer in transaction mode, read in Chromium', 120_000, async () => {
    const server = await serve(root, await findFreePort());
    servers.push(server.child);
    // A row written now, straight into Postgres: the page shows the database as it is, not as it was at build time.
    const live = `Written at ${new Date().toISOString()}`;
    await db.query(`INSERT INTO ${app.table} (title) VALUES ($1)`, [live]);
    // Every answer the page got, but the favicon (neither fixture has one; Chromium asks anyway).
    const failed: string[] = [];
    const onResponse = (response: { status(): number; url(): string }) => {
      if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) failed.push(`${response.status()} ${response.url()}`);
    };
    page.on('response', onResponse);
    const errorsBefore = browserErrors.length;
    await page.goto(server.url);
    const notes = page.getByTestId('note');
    await notes.filter({ hasText: live }).waitFor();
    expect(await notes.allTextContents()).toEqual([SEEDED, live]);
    page.off('response', onResponse);
    expect(failed).toEqual([]);
    expect(browserErrors.slice(errorsBefore).filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
    await stopGroup(server.child);
  });
});
