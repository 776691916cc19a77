/**
 * The main job. With DATABASE_URL unset it starts the local stack (Postgres + PgBouncer in
 * transaction mode), runs a query through the pooler with Prisma 7, and stops the stack.
 * (The full check table arrives with the observability and wrappers work.)
 */
import { bareClient } from '../test/support/prisma.ts';
import { startStack } from './local-stack/start-stack.ts';

const stack = process.env.DATABASE_URL ? null : await startStack({ log: (line) => console.error(line) });
const url = process.env.DATABASE_URL ?? stack?.poolerUrl ?? '';
const client = bareClient(url, 2);
try {
  const [{ now }] = await client.prisma.$queryRaw<[{ now: Date }]>`SELECT now() AS now`;
  console.log(`query through the pooler: ok (${now.toISOString()})`);
} finally {
  await client.close();
  await stack?.stop();
}
