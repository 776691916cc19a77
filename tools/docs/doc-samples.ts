/**
 * The TypeScript samples of the docs, compiled against the package's built types (its `.d.ts`, as an
 * app sees them), so a sample that does not compile fails CI. The rule (docs/development.md):
 *
 * - Every fenced block whose info string starts with `ts` or `typescript` in README.md, docs/*.md and docs/recipes/*.md
 *   is compiled, each as its own module, unless its info string also says `partial`
 *   (```` ```ts partial ````): a fragment that leaves out on purpose what it does not show.
 * - A sample imports this package by its name, an app's service file
 *   (`~/services/connection-pool-manager.server` or `@/lib/db`, or relatively, as from the app's
 *   `src/`: `./services/connection-pool-manager.server`, `./lib/db`) and its generated client
 *   (`~/generated/prisma/client`, `@/generated/prisma/client` or, from `src/`,
 *   `./generated/prisma/client`, over this repository's schema), and any package installed at the
 *   repository's root. Anything else — a package not installed there (`next/server`, `@vercel/otel`),
 *   an app's own helper (`~/lib/demo.server`) — is typed `any`: the sample is checked against this
 *   package, not against every other one.
 * - The names in `SAMPLE_GLOBALS` may be used without being declared.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serviceFileSource } from '../../src/cli/init.ts';
import { REPO_ROOT } from '../lib/markers.ts';

export interface DocSample {
  /** Relative to the repository root, e.g. `docs/wrappers.md`. */
  readonly file: string;
  /** 1-based line of the first code line. */
  readonly line: number;
  readonly info: string;
  readonly code: string;
  readonly partial: boolean;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s][^`]*)?$/;

/** The fenced `ts` / `typescript` blocks of one Markdown text. */
export function extractSamples(file: string, text: string): DocSample[] {
  const samples: DocSample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '```', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? '';
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    const words = info
      .trim()
      .split(/[\s,{}]+/)
      .filter(Boolean);
    if (words[0] === 'ts' || words[0] === 'typescript') {
      samples.push({ file, line: i + 2, info: info.trim(), code: body.join('\n'), partial: words.includes('partial') });
    }
    i = j;
  }
  return samples;
}

/** README.md, docs/*.md and docs/recipes/*.md, in a stable order. */
export function docFiles(): string[] {
  const pages = (folder: string) =>
    existsSync(path.join(REPO_ROOT, folder))
      ? readdirSync(path.join(REPO_ROOT, folder))
          .filter((f) => f.endsWith('.md'))
          .sort()
          .map((f) => `${folder}/${f}`)
      : [];
  return ['README.md', ...pages('docs'), ...pages('docs/recipes')];
}

export function allSamples(): DocSample[] {
  return docFiles().flatMap((file) => extractSamples(file, readFileSync(path.join(REPO_ROOT, file), 'utf8')));
}

/** Free names a sample may use, as an app's code around it would have them. */
export const SAMPLE_GLOBALS = `
declare const id: string;
declare const userId: string;
declare const workspaceId: string;
declare const pageId: string;
declare const userData: { email: string; name?: string };
declare const workspaceData: { name: string; ownerId: string };
declare const pageData: { title: string; workspaceId: string };
declare const request: Request;
declare const signal: AbortSignal;
`;

/** `import … from 'x'`, `const { a } = await import('x')` or `import('x')`, and `import 'x'`. */
const IMPORT =
  /\bimport\s+(?:type\s+)?([\w$*{}\s,]+?)\s+from\s+['"]([^'"]+)['"]|(?:\{([^{}]*)\}\s*=\s*)?(?:await\s+)?\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\bimport\s+['"]([^'"]+)['"]/g;

/** What the fixture provides: this package, the service file, the generated client, `@/lib/db`. */
const STRICT = /^(prisma-pgbouncer-pooling$|~\/services\/|~\/generated\/|@\/lib\/db$|@\/services\/|@\/generated\/|node:|\.)/;

const installed = (specifier: string): boolean => {
  if (/^[~@]\//.test(specifier)) return false;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
  const types = `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
  return [name, types].some((pkg) => existsSync(path.join(REPO_ROOT, 'node_modules', pkg, 'package.json')));
};

/**
 * `declare module` blocks for the imports the scratch app cannot resolve — packages not installed at
 * the repository root, an app's own `~/…` helpers — with every imported name typed `any` (as a value
 * and as a type), so the rest of the sample is still checked against this package.
 */
export function importShims(samples: readonly DocSample[]): string {
  const names = new Map<string, Set<string>>();
  for (const sample of samples) {
    for (const match of sample.code.matchAll(IMPORT)) {
      const specifier = match[2] ?? match[4] ?? match[5] ?? '';
      if (specifier === '' || STRICT.test(specifier) || installed(specifier)) continue;
      const set = names.get(specifier) ?? new Set<string>();
      names.set(specifier, set);
      const clause = match[1] ?? '';
      const braces = match[3] ?? /\{([^}]*)\}/.exec(clause)?.[1];
      for (const item of braces?.split(',') ?? []) {
        const imported = item
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]
          ?.trim();
        if (imported && /^[A-Za-z_$][\w$]*$/.test(imported)) set.add(imported);
      }
      const outside = clause
        .replace(/\{[^}]*\}/, '')
        .replace(/\*\s+as\s+[\w$]+/, '')
        .replace(/,/g, '');
      if (/[\w$]/.test(outside)) set.add('default');
    }
  }
  return [...names]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([specifier, set]) => {
      // Imported for its side effects, or as a whole module: a shorthand declaration (everything `any`).
      if (set.size === 0) return `declare module '${specifier}';\n`;
      const lines = [...set]
        .sort()
        .map((n) =>
          n === 'default' ? '  const _default: any;\n  export default _default;' : `  export const ${n}: any;\n  export type ${n} = any;`,
        );
      return `declare module '${specifier}' {\n${lines.join('\n')}\n}\n`;
    })
    .join('');
}

export interface Diagnostic {
  readonly sample: DocSample;
  /** Line in the Markdown file. */
  readonly line: number;
  readonly message: string;
}

const run = (command: string, args: string[], cwd: string) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });

/**
 * Builds the package's declarations, writes every non-partial sample as a module of a scratch app
 * inside the repository (so its imports resolve through the root node_modules), runs `tsc` once
 * and maps each error back to its Markdown line. The scratch folder is removed.
 */
export async function compileSamples(samples: readonly DocSample[]): Promise<{ diagnostics: Diagnostic[]; compiled: number }> {
  const scratchRoot = path.join(REPO_ROOT, '.scratch');
  mkdirSync(scratchRoot, { recursive: true });
  const dir = mkdtempSync(path.join(scratchRoot, 'doc-samples-'));
  const tsc = path.join(REPO_ROOT, 'node_modules/.bin/tsc');
  try {
    const types = path.join(dir, 'types');
    const built = await run(
      tsc,
      ['-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', types, '--emitDeclarationOnly', '--declarationMap', 'false'],
      REPO_ROOT,
    );
    if (built.code !== 0) throw new Error(`building the package's declarations failed:\n${built.output}`);

    // The app around the samples: its generated client (this repository's schema) and the service file `init` writes.
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    };
    const generated = path.relative(path.join(dir, 'app/generated/prisma'), path.join(REPO_ROOT, 'src/generated/prisma/client.ts'));
    write('app/generated/prisma/client.ts', `export * from '${generated.split(path.sep).join('/')}';\n`);
    write('app/services/connection-pool-manager.server.ts', serviceFileSource('~/generated/prisma/client'));
    write('app/lib/db.ts', `export * from '../services/connection-pool-manager.server.ts';\n`);
    // A sample in an app's src/ folder may import the service file relatively, too.
    write('samples/services/connection-pool-manager.server.ts', `export * from '~/services/connection-pool-manager.server';\n`);
    write('samples/lib/db.ts', `export * from '~/lib/db';\n`);
    write('samples/generated/prisma/client.ts', `export * from '~/generated/prisma/client';\n`);
    write('globals.d.ts', SAMPLE_GLOBALS);
    write('shims.d.ts', importShims(samples));

    const byFile = new Map<string, DocSample>();
    for (const [index, sample] of samples.entries()) {
      if (sample.partial) continue;
      const name = `samples/${sample.file.replace(/[^A-Za-z0-9-]/g, '_')}_L${sample.line}_${index}.ts`;
      // `export {}` makes every sample a module, so two samples' top-level names never collide.
      write(name, `${sample.code}\nexport {};\n`);
      byFile.set(name, sample);
    }
    write(
      'tsconfig.json',
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          types: ['node'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          esModuleInterop: true,
          noUnusedLocals: false,
          paths: {
            'prisma-pgbouncer-pooling': ['./types/index.d.ts'],
            '~/*': ['./app/*'],
            '@/*': ['./app/*'],
          },
        },
        include: ['globals.d.ts', 'shims.d.ts', 'samples'],
      }),
    );
    const checked = await run(tsc, ['-p', dir, '--pretty', 'false'], dir);
    const diagnostics: Diagnostic[] = [];
    for (const line of checked.output.split('\n')) {
      const match = /^(samples\/[^(]+)\((\d+),(\d+)\): (.*)$/.exec(line.trim());
      if (!match) {
        if (line.trim() !== '' && checked.code !== 0 && !/^\s/.test(line)) {
          diagnostics.push({ sample: { file: '(tsc)', line: 0, info: '', code: '', partial: false }, line: 0, message: line });
        }
        continue;
      }
      const sample = byFile.get(match[1] ?? '');
      if (!sample) continue;
      diagnostics.push({ sample, line: sample.line + Number(match[2]) - 1, message: match[4] ?? '' });
    }
    if (checked.code !== 0 && diagnostics.length === 0)
      diagnostics.push({ sample: samples[0] as DocSample, line: 0, message: checked.output });
    return { diagnostics, compiled: byFile.size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
