/**
 * `prisma-pgbouncer-pooling init`: writes the app's service file, never over an existing one.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Remix / React Router's convention: imported as `~/services/connection-pool-manager.server`. */
export const DEFAULT_SERVICE_PATH = 'app/services/connection-pool-manager.server.ts';
export const DEFAULT_CLIENT_IMPORT = '~/generated/prisma/client';

export function serviceFileSource(clientImport: string = DEFAULT_CLIENT_IMPORT): string {
  return `import { PrismaClient } from '${clientImport}';
import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
export const prisma = connectionPoolManager.prisma;
`;
}

export type InitResult = { written: true; file: string } | { written: false; file: string; reason: string };

export function writeServiceFile(cwd: string, options: { path?: string; clientImport?: string } = {}): InitResult {
  const file = path.resolve(cwd, options.path ?? DEFAULT_SERVICE_PATH);
  if (existsSync(file)) return { written: false, file, reason: 'exists; left as it is' };
  mkdirSync(path.dirname(file), { recursive: true });
  // 'wx' fails instead of overwriting should the file appear between the check and the write.
  writeFileSync(file, serviceFileSource(options.clientImport), { flag: 'wx' });
  return { written: true, file };
}
