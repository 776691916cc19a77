/**
 * Pins what src/adapter/ assumes of the installed @prisma/adapter-pg (its connected adapter's
 * protected `client` / `onError` and private `performIO`, reached through a prototype), without a
 * database: a recorder stands in for the pg client the query path calls.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { ColumnTypeEnum, type SqlQuery } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdapter } from '~/adapter/create-adapter.ts';
import { isPgQueryPath, type PgQueryPath } from '~/adapter/held-connection.ts';
import { classifyError } from '~/errors/classify-error.ts';
import { IncompatibleDependencyError } from '~/errors/errors.ts';

const pool = new pg.Pool({ max: 1 }); // never connects: no query reaches it
afterAll(() => pool.end());

const query: SqlQuery = { sql: 'SELECT $1::int4 AS n', args: [7], argTypes: [{ scalarType: 'int', arity: 'scalar' }] } as SqlQuery;

describe('@prisma/adapter-pg query path', () => {
  it('a connected adapter has client, performIO and onError', async () => {
    const adapter = await new PrismaPg(pool, { disposeExternalPool: false }).connect();
    expect(isPgQueryPath(adapter)).toBe(true);
    await adapter.dispose();
  });

  it('queryRaw calls client.query once with one { text, values, rowMode, types } argument', async () => {
    const adapter = (await new PrismaPg(pool, { disposeExternalPool: false }).connect()) as unknown as PgQueryPath;
    const calls: unknown[][] = [];
    const recorder = {
      query: (...args: unknown[]) => {
        calls.push(args);
        return Promise.resolve({ fields: [{ name: 'n', dataTypeID: 23 }], rows: [[7]], rowCount: 1, command: 'SELECT' });
      },
    };
    const bound = Object.create(adapter, { client: { value: recorder } }) as PgQueryPath;
    const result = await bound.queryRaw(query);
    expect(calls).toHaveLength(1);
    const [argument, ...rest] = calls[0] as [Record<string, unknown>, ...unknown[]];
    expect(rest).toEqual([]);
    expect(Object.keys(argument).sort()).toEqual(['name', 'rowMode', 'text', 'types', 'values']);
    expect(argument).toMatchObject({ text: query.sql, values: [7], rowMode: 'array', name: undefined });
    expect(typeof (argument.types as { getTypeParser: unknown }).getTypeParser).toBe('function');
    expect(result).toMatchObject({ columnNames: ['n'], columnTypes: [ColumnTypeEnum.Int32], rows: [[7]] });
    await adapter.dispose();
  });

  it('onError turns a pg error into the DriverAdapterError Prisma maps', async () => {
    const adapter = (await new PrismaPg(pool, { disposeExternalPool: false }).connect()) as unknown as PgQueryPath;
    const pgError = Object.assign(new Error('could not serialize access'), { code: '40001', severity: 'ERROR' });
    let caught: unknown;
    try {
      adapter.onError(pgError);
    } catch (error) {
      caught = error;
    }
    expect((caught as { name: string }).name).toBe('DriverAdapterError');
    expect(classifyError(caught)).toMatchObject({ kind: 'serialization', retryable: true });
    await adapter.dispose();
  });
});

describe('an adapter-pg without that shape', () => {
  it('connect() fails loudly with IncompatibleDependencyError (kind dependency), and disposes the inner adapter', async () => {
    const factory = createAdapter(pool, { schema: null });
    // An adapter-pg whose connected adapter lacks performIO (what a release that renamed it would hand us).
    let disposed = false;
    const original = PrismaPg.prototype.connect;
    PrismaPg.prototype.connect = async () =>
      ({
        provider: 'postgres',
        adapterName: 'x',
        client: {},
        onError() {},
        dispose: async () => {
          disposed = true;
        },
      }) as never;
    try {
      const error = await factory.connect().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(IncompatibleDependencyError);
      expect(classifyError(error)).toMatchObject({ kind: 'dependency', retryable: false });
      expect(disposed).toBe(true);
    } finally {
      PrismaPg.prototype.connect = original;
    }
  });
});
