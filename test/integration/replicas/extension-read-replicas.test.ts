/**
 * `@prisma/extension-read-replicas`' own test suite (tests/extension.test.ts, its nine cases), ported
 * to `manager.prisma` on a real hot standby 1.5 s behind the primary, plus what the port adds:
 * where each call ran is shown by the databases themselves — a row inserted on the primary right
 * before the call is visible on the primary and not yet on the standby — as well as by a logging
 * extension on each server's client (`createClient(adapter, server)`), as the peer's suite logs.
 * Then `$transaction` writes and read-your-writes, and pins that compose. Own stack (a standby).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { createConnectionPoolManager, type DatabaseServer } from '~/manager/connection-pool-manager.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { sql } from '../../support/managers.ts';

type LogEntry = { server: 'primary' | 'replica'; operation: string };

let stack: LocalStack;
let logs: LogEntry[] = [];
const servers: DatabaseServer[] = [];
const managers: { disconnect(): Promise<void> }[] = [];

beforeAll(async () => {
  stack = await startStack({ standby: { applyDelayMs: 1500 } });
}, 120_000);
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await stack?.stop();
});
beforeEach(() => {
  logs = [];
});

const env = () => ({ DATABASE_URL: stack.poolerUrl, DATABASE_URL_READ: stack.standby?.poolerUrl, USE_TRANSACTION_MODE: 'true' });

/**
 * As the peer's suite builds it: each replica's client gets a logging extension (the peer's
 * `readReplicas(options, (client) => client.$extends(log))`, here `createClient(adapter, server)`),
 * and the routed client gets the primary's logger on top (`.$extends(log)` after the routing
 * extension). Prisma 7 runs query extensions in the order they were applied, so the primary's logger
 * runs only when the routing layer lets the call continue on the primary.
 */
function createPrisma() {
  const log = (server: LogEntry['server']) => ({
    query: {
      $allOperations({ args, operation, query }: { args: unknown; operation: string; query: (args: unknown) => Promise<unknown> }) {
        logs.push({ server, operation });
        return query(args);
      },
    },
  });
  const manager = createConnectionPoolManager({
    createClient: (adapter, server) => {
      servers.push(server);
      const client = new PrismaClient({ adapter });
      return server.role === 'replica' ? (client.$extends(log('replica')) as unknown as PrismaClient) : client;
    },
    env: env(),
    globalKey: null,
    replicaPollIntervalMs: 200,
  });
  managers.push(manager);
  // The extended client keeps the routing layer's methods ($primary …) at run time; its type is Prisma's.
  return { manager, prisma: manager.prisma.$extends(log('primary')) as unknown as typeof manager.prisma };
}

/** A user inserted on the primary, outside the manager: visible there at once, on the standby 1.5 s later. */
async function fresh(): Promise<string> {
  const email = `peer-${randomUUID()}@example.com`;
  await sql(stack.directUrl, 'INSERT INTO "User" (id, email) VALUES ($1, $2)', [randomUUID(), email]);
  return email;
}

describe("@prisma/extension-read-replicas' suite, ported", () => {
  it('client throws an error when given an empty read replica list', () => {
    const manager = createConnectionPoolManager({
      createClient: (adapter) => new PrismaClient({ adapter }),
      env: { ...env(), DATABASE_URL_READ: ',' },
      globalKey: null,
    });
    expect(() => manager.config).toThrow(ConfigError);
    expect(() => manager.config).toThrow('DATABASE_URL_READ');
  });

  it('read query is executed against replica', async () => {
    const { prisma } = createPrisma();
    const email = await fresh();
    expect(await prisma.user.findMany({ where: { email } })).toEqual([]); // the standby has not replayed it
    expect(logs).toEqual([{ server: 'replica', operation: 'findMany' }]);
  });

  it('write query is executed against primary', async () => {
    const { prisma } = createPrisma();
    const email = await fresh();
    expect(await prisma.user.updateMany({ where: { email }, data: { name: 'primary' } })).toEqual({ count: 1 });
    expect(logs).toEqual([{ server: 'primary', operation: 'updateMany' }]);
  });

  it('$executeRaw and $executeRawUnsafe are executed against primary', async () => {
    const { prisma } = createPrisma();
    const email = await fresh();
    expect(await prisma.$executeRaw`SELECT 1 FROM "User" WHERE email = ${email}`).toBe(1);
    expect(await prisma.$executeRawUnsafe('SELECT 1 FROM "User" WHERE email = $1', email)).toBe(1);
    expect(logs).toEqual([
      { server: 'primary', operation: '$executeRaw' },
      { server: 'primary', operation: '$executeRawUnsafe' },
    ]);
  });

  it('$executeRaw and $executeRawUnsafe are executed against replica if $replica() is used', async () => {
    const { prisma } = createPrisma();
    const email = await fresh();
    expect(await prisma.$replica().$executeRaw`SELECT 1 FROM "User" WHERE email = ${email}`).toBe(0);
    expect(await prisma.$replica().$executeRawUnsafe('SELECT 1 FROM "User" WHERE email = $1', email)).toBe(0);
    expect(logs).toEqual([
      { server: 'replica', operation: '$executeRaw' },
      { server: 'replica', operation: '$executeRawUnsafe' },
    ]);
  });

  it('read query is executed against primary if $primary() is used', async () => {
    const { prisma } = createPrisma();
    const email = await fresh();
    expect(await prisma.$primary().user.findMany({ where: { email } })).toHaveLength(1);
    // As in the peer's suite: the pinned client is the routing layer's own, so the logger applied
    // on top of it does not run (the peer: "extension exits before calling further ones").
    expect(logs).toEqual([]);
  });

  it('transactional queries are executed against primary (sequential)', async () => {
    const { prisma } = createPrisma();
    const email = await fresh();
    const [found, updated] = await prisma.$transaction([
      prisma.user.findMany({ where: { email } }),
      prisma.user.updateMany({ where: { email }, data: { name: 'batch' } }),
    ]);
    expect(found).toHaveLength(1);
    expect(updated).toEqual({ count: 1 });
    expect(logs).toEqual([
      { server: 'primary', operation: 'findMany' },
      { server: 'primary', operation: 'updateMany' },
    ]);
  });

  it('transactional queries are executed against primary (itx)', async () => {
    const { prisma } = createPrisma();
    const email = await fresh();
    await prisma.$transaction(async (tx) => {
      expect(await tx.user.findMany({ where: { email } })).toHaveLength(1);
      expect(await tx.user.updateMany({ where: { email }, data: { name: 'itx' } })).toEqual({ count: 1 });
    });
    expect(logs).toEqual([
      { server: 'primary', operation: 'findMany' },
      { server: 'primary', operation: 'updateMany' },
    ]);
  });

  it('replica client with options', async () => {
    let resolve!: (value: unknown) => void;
    const logged = new Promise((res) => {
      resolve = res;
    });
    const manager = createConnectionPoolManager({
      createClient: (adapter, server) => {
        if (server.role !== 'replica') return new PrismaClient({ adapter });
        const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
        client.$on('query', () => {
          logs.push({ server: 'replica', operation: 'replica logger' });
          resolve('logged');
        });
        return client;
      },
      env: env(),
      globalKey: null,
    });
    managers.push(manager);
    await manager.prisma.user.findMany();
    await logged;
    expect(logs).toEqual([{ server: 'replica', operation: 'replica logger' }]);
  });
});

describe('createClient is told its server', () => {
  it('role, host, port, the replica index and which client (writes or reads) each call builds', () => {
    const seen = servers.map((s) => `${s.role}:${s.replicaIndex}:${s.readOnly}`);
    expect(seen).toContain('primary:null:false');
    expect(seen).toContain('replica:0:false');
    for (const s of servers) {
      expect(s.host).toBe('127.0.0.1');
      expect(s.port).toBe(Number(new URL(s.role === 'primary' ? stack.poolerUrl : (stack.standby?.poolerUrl ?? '')).port));
      expect(JSON.stringify(s)).not.toMatch(/password|:\/\//);
    }
  });
});

describe('$transaction writes and read-your-writes on the lagging standby', () => {
  it('a plain read right after a $transaction write (interactive and array) sees it, 10 of 10 each', async () => {
    const { prisma } = createPrisma();
    let missed = 0;
    for (let i = 0; i < 10; i++) {
      const a = `itx-${randomUUID()}@example.com`;
      await prisma.$transaction(async (tx) => tx.user.create({ data: { email: a } }));
      if ((await prisma.user.findUnique({ where: { email: a } })) === null) missed++;
      const b = `batch-${randomUUID()}@example.com`;
      await prisma.$transaction([prisma.user.create({ data: { email: b } })]);
      if ((await prisma.user.findUnique({ where: { email: b } })) === null) missed++;
    }
    expect(missed).toBe(0);
  });

  it('consistencyToken() after a $transaction write carries it to another instance ($after)', async () => {
    const writer = createPrisma();
    const reader = createPrisma();
    const email = `token-${randomUUID()}@example.com`;
    await writer.prisma.$transaction(async (tx) => tx.user.create({ data: { email } }));
    const token = await writer.manager.consistencyToken();
    expect(await reader.prisma.$after(token).user.findUnique({ where: { email } })).not.toBeNull();
  });
});

describe('pins compose, the strictest wins', () => {
  it('$after(t).$replica() and $replica().$after(t) both honour the token; $primary() beats $replica()', async () => {
    const writer = createPrisma();
    const reader = createPrisma();
    const email = `pins-${randomUUID()}@example.com`;
    await writer.prisma.user.create({ data: { email } });
    const token = await writer.manager.consistencyToken();
    expect(await reader.prisma.$after(token).$replica().user.findUnique({ where: { email } })).not.toBeNull();
    expect(await reader.prisma.$replica().$after(token).user.findUnique({ where: { email } })).not.toBeNull();
    const unseen = await fresh();
    expect(
      await reader.prisma
        .$replica()
        .$primary()
        .user.findUnique({ where: { email: unseen } }),
    ).not.toBeNull();
    expect(
      await reader.prisma
        .$primary()
        .$replica()
        .user.findUnique({ where: { email: unseen } }),
    ).not.toBeNull();
    // Without a token, $replica() reads the lagging standby.
    expect(await reader.prisma.$replica().user.findUnique({ where: { email: unseen } })).toBeNull();
  });

  it('a pin is built once and checked where it is called', () => {
    const { prisma } = createPrisma();
    expect(prisma.$replica()).toBe(prisma.$replica());
    expect(prisma.$after('v1.0.10')).toBe(prisma.$after('v1.0.10'));
    expect(prisma.$after('v1.0.10').$replica()).toBe(prisma.$replica().$after('v1.0.10'));
    expect(() => prisma.$after('not a token')).toThrow(ConfigError);
    expect(() => prisma.$after('not a token')).toThrow('$after');
  });
});
