import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
import { PrismaClient } from '~/generated/prisma/client';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
export const prisma = connectionPoolManager.prisma;
