/**
 * The `tls` rows of the classifier's table (test/unit/errors/classify-error.test.ts), each produced
 * for real: plain node-postgres and Prisma 7 + adapter-pg (no help from us) against the TLS local
 * stack — PgBouncer behind client TLS with a private CA (`client_tls_sslmode=require`, and
 * `verify-ca`, which demands a client certificate) — and against the shared stack, which has no
 * TLS at all. Nothing here is a hand-built error object.
 */
import { readFileSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classifyError, tlsProblem } from '~/errors/classify-error.ts';
import type { TlsProblem } from '~/errors/errors.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { failure } from '../../support/failure.ts';

const shared = inject('stack');
let tlsStack: LocalStack;
let certStack: LocalStack;
const opened: { prisma: InstanceType<typeof PrismaClient>; pool: pg.Pool }[] = [];

beforeAll(async () => {
  [tlsStack, certStack] = await Promise.all([
    startStack({ tls: true, migrate: false }),
    startStack({ tls: { clientCertificate: 'required' }, migrate: false }),
  ]);
});
afterAll(async () => {
  for (const { prisma, pool } of opened) {
    await prisma.$disconnect().catch(() => {});
    await pool.end().catch(() => {});
  }
  await Promise.all([tlsStack?.stop(), certStack?.stop()]);
});

/** The stack's pooler URL without any TLS parameter (so pg derives no `ssl` of its own). */
const bare = (url: string) => url.split('?')[0] ?? url;
const ca = () => readFileSync(tlsStack.tls?.caFile ?? '');

async function pgConnect(config: pg.ClientConfig): Promise<unknown> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  const error = await failure(() => client.connect());
  // A failed handshake leaves nothing to end gracefully (end() would wait for a close that never comes).
  client.connection.stream.destroy();
  return error;
}

async function prismaQuery(config: pg.PoolConfig): Promise<unknown> {
  const pool = new pg.Pool({ ...config, max: 1 });
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  opened.push({ prisma, pool });
  return failure(() => prisma.$queryRaw`SELECT 1`);
}

type Case = [name: string, problem: TlsProblem, run: () => Promise<unknown>];

const cases: Case[] = [
  [
    'pg: private CA not trusted (system CAs)',
    'certificate-not-verified',
    () => pgConnect({ connectionString: bare(tlsStack.poolerUrl), ssl: {} }),
  ],
  [
    'pg: host name not in the certificate',
    'hostname-mismatch',
    () => pgConnect({ connectionString: bare(tlsStack.poolerUrl).replace('@127.0.0.1:', '@localhost:'), ssl: { ca: ca() } }),
  ],
  [
    'pg: no TLS to a TLS-only PgBouncer (08P01 SSL required)',
    'server-requires-tls',
    () => pgConnect({ connectionString: bare(tlsStack.poolerUrl) }),
  ],
  [
    'pg: TLS to a server without it',
    'server-without-tls',
    () => pgConnect({ connectionString: shared.poolerUrl, ssl: { rejectUnauthorized: false } }),
  ],
  [
    'pg: no client certificate for client_tls_sslmode=verify-ca',
    'client-certificate-required',
    () => pgConnect({ connectionString: bare(certStack.poolerUrl), ssl: { rejectUnauthorized: false } }),
  ],
  [
    'Prisma + adapter-pg: private CA not trusted',
    'certificate-not-verified',
    () => prismaQuery({ connectionString: bare(tlsStack.poolerUrl), ssl: {} }),
  ],
  [
    'Prisma + adapter-pg: host name not in the certificate',
    'hostname-mismatch',
    () => prismaQuery({ connectionString: bare(tlsStack.poolerUrl).replace('@127.0.0.1:', '@localhost:'), ssl: { ca: ca() } }),
  ],
  [
    'Prisma + adapter-pg: no TLS to a TLS-only PgBouncer',
    'server-requires-tls',
    () => prismaQuery({ connectionString: bare(tlsStack.poolerUrl) }),
  ],
  [
    'Prisma + adapter-pg: TLS to a server without it',
    'server-without-tls',
    () => prismaQuery({ connectionString: shared.poolerUrl, ssl: { rejectUnauthorized: false } }),
  ],
  [
    'Prisma + adapter-pg: no client certificate',
    'client-certificate-required',
    () => prismaQuery({ connectionString: bare(certStack.poolerUrl), ssl: { rejectUnauthorized: false } }),
  ],
];

describe('classifyError on real TLS failures', () => {
  it.each(cases)('%s → tls (%s), not retried', async (_name, problem, run) => {
    const error = await run();
    expect(classifyError(error), String((error as Error)?.message).slice(0, 300)).toMatchObject({ kind: 'tls', retryable: false });
    expect(tlsProblem(error)).toBe(problem);
  });

  it('Supavisor\'s "Tenant or user not found" (XX000) → auth, not retried', async () => {
    // No Supavisor here: the same SQLSTATE and text, raised for real through PgBouncer and adapter-pg.
    const pool = new pg.Pool({ connectionString: shared.poolerUrl, max: 1 });
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    opened.push({ prisma, pool });
    const error = await failure(() =>
      prisma.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'Tenant or user not found' USING ERRCODE = 'XX000'; END $$`),
    );
    expect(classifyError(error)).toEqual({ kind: 'auth', retryable: false, code: 'XX000', failover: false, sent: false });
    expect(tlsProblem(error)).toBeNull();
  });
});
