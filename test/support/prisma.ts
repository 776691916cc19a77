/** A bare Prisma 7 client over adapter-pg for tests that check the stack itself, not our wrappers. */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '~/generated/prisma/client.ts';

export function bareClient(
  connectionString: string,
  max = 3,
): { prisma: InstanceType<typeof PrismaClient>; pool: pg.Pool; close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 10_000 });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
