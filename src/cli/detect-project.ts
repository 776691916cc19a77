/**
 * What `init` needs to know about the app in the working directory: its framework (and so where the
 * service file goes), TypeScript or JavaScript, the tsconfig path aliases, and where `prisma generate`
 * writes the client. Read from the files only; nothing is executed.
 *
 * Where each framework expects the file:
 * - Next.js: `lib/db.ts`, or `src/lib/db.ts` when the app lives in `src/` (`src/app`, `src/pages`).
 *   Next.js ignores `src/app` as soon as a root `app/` exists
 *   (https://nextjs.org/docs/app/api-reference/file-conventions/src-folder), so nothing is ever
 *   written under a root `app/` of a `src/app` project.
 * - React Router 7 / Remix: `app/services/connection-pool-manager.server.ts` (`.server` keeps it out of
 *   the client bundle: https://reactrouter.com/api/framework-conventions/server-modules).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export type Framework = 'next' | 'react-router';

export interface Project {
  readonly framework: Framework;
  /** The service file to write, relative to the project root. */
  readonly serviceFile: string;
  /** Next.js: the instrumentation file (`instrumentation.ts` or `src/instrumentation.ts`). */
  readonly instrumentationFile: string | null;
  readonly typescript: boolean;
}

/** A one-sentence reason `init` cannot decide, naming the flag that decides instead. */
export class CannotTell extends Error {
  override name = 'CannotTell';
}

const isDir = (file: string) => existsSync(file) && statSync(file).isDirectory();

/** JSON with comments and trailing commas (tsconfig.json, jsconfig.json). */
export function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2);
      if (i === -1) break;
      i++;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

const readJson = (file: string): Record<string, unknown> | null => {
  if (!existsSync(file)) return null;
  try {
    return parseJsonc(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
};

const dependencies = (root: string): Set<string> => {
  const pkg = readJson(path.join(root, 'package.json')) ?? {};
  const names = new Set<string>();
  for (const key of ['dependencies', 'devDependencies']) {
    for (const name of Object.keys((pkg[key] as Record<string, string> | undefined) ?? {})) names.add(name);
  }
  return names;
};

export function detectProject(root: string): Project {
  const deps = dependencies(root);
  const typescript = existsSync(path.join(root, 'tsconfig.json'));
  const ext = typescript ? 'ts' : 'js';
  const nextConfig = readdirSync(root).some((f) => /^next\.config\.(js|mjs|cjs|ts|mts)$/.test(f));
  if (deps.has('next') || nextConfig) {
    // A root app/ or pages/ wins over src/ in Next.js; otherwise src/ when the app lives there.
    const rootApp = isDir(path.join(root, 'app')) || isDir(path.join(root, 'pages'));
    const srcApp = isDir(path.join(root, 'src/app')) || isDir(path.join(root, 'src/pages'));
    const base = !rootApp && (srcApp || isDir(path.join(root, 'src'))) ? 'src/' : '';
    return { framework: 'next', serviceFile: `${base}lib/db.${ext}`, instrumentationFile: `${base}instrumentation.${ext}`, typescript };
  }
  const reactRouter = ['react-router', '@react-router/dev', '@remix-run/react', '@remix-run/node', '@remix-run/dev'].some((d) =>
    deps.has(d),
  );
  if (reactRouter) {
    if (!isDir(path.join(root, 'app')) && isDir(path.join(root, 'src/app'))) {
      throw new CannotTell(
        'this React Router app has no app/ folder but a src/app/: pass --path <file> to say where the service file goes',
      );
    }
    return {
      framework: 'react-router',
      serviceFile: `app/services/connection-pool-manager.server.${ext}`,
      instrumentationFile: null,
      typescript,
    };
  }
  throw new CannotTell(
    'cannot tell the framework (package.json names neither next nor react-router / @remix-run): pass --path <file> for the service file',
  );
}

/** The schema file: package.json's `prisma.schema`, `prisma.config.ts`'s `schema`, else prisma/schema.prisma. */
function schemaFile(root: string): string | null {
  const pkg = readJson(path.join(root, 'package.json'));
  const fromPackage = (pkg?.prisma as { schema?: string } | undefined)?.schema;
  const candidates: string[] = [];
  if (fromPackage) candidates.push(fromPackage);
  for (const config of ['prisma.config.ts', 'prisma.config.mts', 'prisma.config.js', 'prisma.config.mjs']) {
    const file = path.join(root, config);
    if (!existsSync(file)) continue;
    const match = /\bschema\s*:\s*['"`]([^'"`]+)['"`]/.exec(readFileSync(file, 'utf8'));
    if (match?.[1]) candidates.push(match[1]);
  }
  candidates.push('prisma/schema.prisma', 'schema.prisma', 'prisma/schema');
  for (const candidate of candidates) {
    const file = path.resolve(root, candidate);
    if (!existsSync(file)) continue;
    if (!statSync(file).isDirectory()) return file;
    // A multi-file schema folder: the generator lives in one of its files.
    const withGenerator = readdirSync(file)
      .filter((f) => f.endsWith('.prisma'))
      .map((f) => path.join(file, f))
      .find((f) => /\bgenerator\s+\w+\s*\{/.test(readFileSync(f, 'utf8')));
    if (withGenerator) return withGenerator;
  }
  return null;
}

/** Every `.prisma` file beside the schema file. */
function schemaTexts(root: string): { file: string; text: string }[] {
  const schema = schemaFile(root);
  if (schema === null) return [];
  // The schema's folder: a multi-file schema keeps its datasource and generator in any of its files.
  const dir = path.dirname(schema);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.prisma'))
    .map((f) => path.join(dir, f));
  return files.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

/**
 * One sentence when the schema is still Prisma 6's, else null. Prisma 7 refuses a datasource `url`
 * (P1012: the URL moves to prisma.config.ts) and its `prisma-client` generator replaces
 * `prisma-client-js` (https://www.prisma.io/docs/orm/more/upgrade-guides/upgrading-versions/upgrading-to-prisma-7):
 * a service file written against that schema would import a client that is about to move.
 */
export function prisma6Schema(root: string): string | null {
  const signs: string[] = [];
  let where = '';
  for (const { file, text } of schemaTexts(root)) {
    const uncommented = text.replace(/\/\/.*$/gm, '');
    for (const block of uncommented.matchAll(/\bdatasource\s+\w+\s*\{([^}]*)\}/g)) {
      const url = /^\s*(url|directUrl)\s*=\s*(env\([^)]*\)|"[^"]*")/m.exec(block[1] ?? '');
      if (url) {
        signs.push(`the datasource sets ${url[1]} = ${url[2]?.startsWith('env') ? url[2] : '"…"'}`);
        where ||= path.relative(root, file);
      }
    }
    for (const block of uncommented.matchAll(/\bgenerator\s+\w+\s*\{([^}]*)\}/g)) {
      if (/\bprovider\s*=\s*"prisma-client-js"/.test(block[1] ?? '')) {
        signs.push('the generator is "prisma-client-js"');
        where ||= path.relative(root, file);
      }
    }
  }
  if (signs.length === 0) return null;
  return (
    `${where} is a Prisma 6 schema (${signs.join('; ')}): move it to Prisma 7 first, as docs/migrating-from-prisma-6.md ` +
    'shows (the URL goes to prisma.config.ts, the generator becomes provider = "prisma-client" with an output), ' +
    'run npx prisma generate, then run init again; nothing was written'
  );
}

/** Where the generated client is, as a module path without extension, or `@prisma/client`. */
export function generatedClient(root: string): string {
  const schema = schemaFile(root);
  if (schema === null) {
    throw new CannotTell('cannot tell where your generated PrismaClient is (no prisma/schema.prisma): pass --client <import path>');
  }
  const text = readFileSync(schema, 'utf8');
  const generator = /\bgenerator\s+\w+\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
  const provider = /\bprovider\s*=\s*"([^"]+)"/.exec(generator)?.[1];
  const output = /\boutput\s*=\s*"([^"]+)"/.exec(generator)?.[1];
  if (output === undefined) {
    if (provider === 'prisma-client-js') return '@prisma/client';
    throw new CannotTell(
      `cannot tell where your generated PrismaClient is (the generator in ${path.relative(root, schema)} has no output): pass --client <import path>`,
    );
  }
  // Prisma resolves `output` against the schema file's folder; the `prisma-client` generator's entry is `client`.
  const dir = path.resolve(path.dirname(schema), output);
  return provider === 'prisma-client-js' ? dir : path.join(dir, 'client');
}

/** tsconfig/jsconfig `paths` of the form `"~/*": ["./app/*"]`, as [prefix, absolute target dir]. */
function aliases(root: string): [string, string][] {
  const config = readJson(path.join(root, 'tsconfig.json')) ?? readJson(path.join(root, 'jsconfig.json'));
  const options = (config?.compilerOptions as { baseUrl?: string; paths?: Record<string, string[]> } | undefined) ?? {};
  const base = path.resolve(root, options.baseUrl ?? '.');
  const result: [string, string][] = [];
  for (const [pattern, targets] of Object.entries(options.paths ?? {})) {
    const target = targets[0];
    if (!pattern.endsWith('/*') || !target?.endsWith('/*')) continue;
    result.push([pattern.slice(0, -1), path.resolve(base, target.slice(0, -2))]);
  }
  return result;
}

/** Node16/NodeNext resolution needs `.js` on relative imports; bundler resolution (Next.js, Vite) does not. */
function needsJsExtension(root: string): boolean {
  const config = readJson(path.join(root, 'tsconfig.json'));
  const options = (config?.compilerOptions as { moduleResolution?: string; module?: string } | undefined) ?? {};
  const resolution = (options.moduleResolution ?? options.module ?? '').toLowerCase();
  return resolution === 'node16' || resolution === 'nodenext';
}

/** The import specifier of the generated client, as seen from `serviceFile` (absolute). */
/**
 * A Next.js app in `src/app` whose generated client would land in a root `app/`: `prisma generate`
 * would create the folder that makes Next.js ignore `src/app`. One sentence, or null.
 */
export function hiddenRoutesWarning(root: string, project: Project | null): string | null {
  if (project?.framework !== 'next' || !project.serviceFile.startsWith('src/') || isDir(path.join(root, 'app'))) return null;
  let client: string;
  try {
    client = generatedClient(root);
  } catch {
    return null;
  }
  const inside = path.relative(path.join(root, 'app'), client);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return null;
  return 'warning: your schema\'s generator output is under app/, and a root app/ makes Next.js ignore src/app: set output = "../src/generated/prisma"';
}

export function clientImportFor(root: string, serviceFile: string): string {
  const client = generatedClient(root);
  if (client === '@prisma/client') return client;
  for (const [prefix, dir] of aliases(root)) {
    const inside = path.relative(dir, client);
    if (!inside.startsWith('..') && !path.isAbsolute(inside)) return `${prefix}${inside.split(path.sep).join('/')}`;
  }
  let relative = path.relative(path.dirname(serviceFile), client).split(path.sep).join('/');
  if (!relative.startsWith('.')) relative = `./${relative}`;
  return needsJsExtension(root) ? `${relative}.js` : relative;
}
