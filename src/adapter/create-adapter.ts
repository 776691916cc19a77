/**
 * The driver adapter handed to the app's `createClient`: typed by Prisma's own adapter interface
 * (`SqlDriverAdapterFactory`, what `new PrismaClient({ adapter })` accepts), built here over the
 * `pg.Pool` that src/pool/create-pool.ts creates.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type pg from 'pg';

export type { SqlDriverAdapterFactory };

export interface AdapterOptions {
  /** Postgres schema (adapter-pg's `schema`); null for the server's search_path. */
  readonly schema: string | null;
  /** Named statements (`statementNameGenerator`); unnamed when absent, as PgBouncer < 1.21 in transaction mode needs. */
  readonly statementName?: (sql: string) => string;
}

/** A Prisma driver adapter over `pool`. We own the pool's lifecycle (the manager ends it once). */
export function createAdapter(pool: pg.Pool, options: AdapterOptions): SqlDriverAdapterFactory {
  const { statementName } = options;
  return new PrismaPg(pool, {
    schema: options.schema ?? undefined,
    statementNameGenerator: statementName ? (query) => statementName(query.sql) : undefined,
    disposeExternalPool: false,
  });
}
