/**
 * `prisma-pgbouncer-pooling init`: writes the app's service file where its framework expects it
 * (src/cli/detect-project.ts), and for Next.js on request an `instrumentation.ts`; never over an
 * existing file. When it cannot tell the framework or the client's location it writes nothing and
 * says, in one sentence, which flag decides.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CannotTell, clientImportFor, detectProject, hiddenRoutesWarning, type Project } from './detect-project.ts';

export function serviceFileSource(clientImport: string): string {
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
}

export type InitResult = (
  | { written: true; files: string[]; skipped: string[] }
  | { written: false; files: string[]; skipped: string[]; reason: string }
) & { warning?: string };

/** Writes `content` unless the file exists ('wx' also refuses a file that appears meanwhile). */
const writeNew = (file: string, content: string): boolean => {
  if (existsSync(file)) return false;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content, { flag: 'wx' });
  return true;
};

export function runInit(cwd: string, options: InitOptions = {}): InitResult {
  let project: Project | null = null;
  try {
    if (options.path === undefined || options.instrumentation) project = detectProject(cwd);
    const file = path.resolve(cwd, options.path ?? project?.serviceFile ?? '');
    const clientImport = options.clientImport ?? clientImportFor(cwd, file);
    const files: string[] = [];
    const skipped: string[] = [];
    (writeNew(file, serviceFileSource(clientImport)) ? files : skipped).push(path.relative(cwd, file));
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
