// The app's service file, exactly as on Node: nothing here knows about Workers. The Worker's entry
// (src/worker.ts) adds the one Workers-specific line, the withWorkerRequest wrapper around fetch.
import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
import { PrismaClient } from '../generated/prisma/client';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
export const prisma = connectionPoolManager.prisma;
