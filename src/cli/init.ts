/**
 * `prisma-pgbouncer-pooling init`: writes the app's service file where its framework expects it
 * (src/cli/detect-project.ts), and for Next.js on request an `instrumentation.ts`; never over an
 * existing file. When it cannot tell the framework or the client's location it writes nothing and
 * says, in one sentence, which flag decides.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { adoptSingletonSource } from './adopt-singleton.ts';
import {
  CannotTell,
  clientImportFor,
  detectProject,
  type Framework,
  hiddenRoutesWarning,
  type Project,
  prisma6Schema,
} from './detect-project.ts';

/**
 * The service file, exactly as the docs show it for the framework. Next.js: `import 'server-only'`
 * first (a Client Component importing the file fails the build instead of bundling pg for the
 * browser) and a `globalKey`, because Next.js evaluates the module once per bundle layer and on
 * every hot reload (docs/nextjs.md). A seed or script run by tsx imports it with
 * `tsx --conditions=react-server` (server-only's export map gives that condition an empty module).
 */
export function serviceFileSource(clientImport: string, framework: Framework | null = null): string {
  if (framework === 'next') {
    return `import 'server-only';
import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
import { PrismaClient } from '${clientImport}';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
  globalKey: 'app',
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
export const prisma = connectionPoolManager.prisma;
`;
  }
  return `import { PrismaClient } from '${clientImport}';
import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
export const prisma = connectionPoolManager.prisma;
`;
}

/**
 * Next.js runs `register()` once per server instance; the Node.js branch keeps the pool (and pg) out
 * of the Edge bundle. https://nextjs.org/docs/app/guides/instrumentation
 */
export function instrumentationSource(serviceImport: string): string {
  return `export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    // OpenTelemetry (optional): register your SDK here first, e.g. registerOTel() from @vercel/otel;
    // the pool's metrics and spans use the global providers (docs/opentelemetry.md).
    const { connectionPoolManager } = await import('${serviceImport}');
    // Opens the pool's connections before the first request.
    await connectionPoolManager.warmup();
  }
}
`;
}

export interface InitOptions {
  /** The service file; wins over detection. */
  path?: string;
  /** The generated client's import path; wins over the schema's generator `output`. */
  clientImport?: string;
  /** Next.js: also write `instrumentation.ts` (warmup, OpenTelemetry). */
  instrumentation?: boolean;
  /** An existing PrismaClient singleton module to rewrite in place (`init --adopt lib/prisma.ts`) instead of writing a new file. */
  adopt?: string;
}

export type InitResult = (
  | { written: true; files: string[]; skipped: string[] }
  | { written: false; files: string[]; skipped: string[]; reason: string }
) & { warning?: string /** `--adopt`: the module's exports that are now the pooling client. */; adopted?: readonly string[] };

/** Writes `content` unless the file exists ('wx' also refuses a file that appears meanwhile). */
const writeNew = (file: string, content: string): boolean => {
  if (existsSync(file)) return false;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content, { flag: 'wx' });
  return true;
};

/** The framework when it can be told, else null (for `--path` / `--adopt`, where it only shapes the file). */
function frameworkOf(cwd: string): Framework | null {
  try {
    return detectProject(cwd).framework;
  } catch (error) {
    if (error instanceof CannotTell) return null;
    throw error;
  }
}

/** `init --adopt <file>`: the module keeps its path and its exports; its client becomes the manager's. */
function adopt(cwd: string, target: string, options: InitOptions): InitResult {
  const file = path.resolve(cwd, target);
  const shown = path.relative(cwd, file);
  if (!existsSync(file)) return { written: false, files: [], skipped: [], reason: `--adopt ${shown}: no such file` };
  let clientImport: string | null = options.clientImport ?? null;
  if (clientImport === null) {
    try {
      clientImport = clientImportFor(cwd, file);
    } catch (error) {
      if (!(error instanceof CannotTell)) throw error;
    }
  }
  const result = adoptSingletonSource(readFileSync(file, 'utf8'), { clientImport, framework: frameworkOf(cwd) });
  if (!result.adopted) return { written: false, files: [], skipped: [], reason: `${shown} ${result.reason}` };
  writeFileSync(file, result.source);
  return { written: true, files: [shown], skipped: [], adopted: result.exports };
}

export function runInit(cwd: string, options: InitOptions = {}): InitResult {
  let project: Project | null = null;
  try {
    // Before anything is written: a service file written against a Prisma 6 schema imports a client that is about to move.
    const prisma6 = prisma6Schema(cwd);
    if (prisma6 !== null) return { written: false, files: [], skipped: [], reason: prisma6 };
    if (options.adopt !== undefined) return adopt(cwd, options.adopt, options);
    if (options.path === undefined || options.instrumentation) project = detectProject(cwd);
    const framework = project?.framework ?? frameworkOf(cwd);
    const file = path.resolve(cwd, options.path ?? project?.serviceFile ?? '');
    const clientImport = options.clientImport ?? clientImportFor(cwd, file);
    const files: string[] = [];
    const skipped: string[] = [];
    (writeNew(file, serviceFileSource(clientImport, framework)) ? files : skipped).push(path.relative(cwd, file));
    if (options.instrumentation) {
      if (project?.framework !== 'next' || project.instrumentationFile === null) {
        return { written: files.length > 0, files, skipped, reason: '--instrumentation is for Next.js apps (instrumentation.ts)' };
      }
      const instrumentation = path.resolve(cwd, project.instrumentationFile);
      let specifier = path
        .relative(path.dirname(instrumentation), file)
        .split(path.sep)
        .join('/')
        .replace(/\.[cm]?[jt]s$/, '');
      if (!specifier.startsWith('.')) specifier = `./${specifier}`;
      (writeNew(instrumentation, instrumentationSource(specifier)) ? files : skipped).push(path.relative(cwd, instrumentation));
    }
    const warning = hiddenRoutesWarning(cwd, project);
    if (warning !== null && files.length > 0) return { written: true, files, skipped, warning };
    if (files.length === 0)
      return { written: false, files, skipped, reason: `${skipped.join(', ')} ${skipped.length === 1 ? 'exists' : 'exist'}; left as is` };
    return { written: true, files, skipped };
  } catch (error) {
    if (error instanceof CannotTell) return { written: false, files: [], skipped: [], reason: error.message };
    throw error;
  }
}
