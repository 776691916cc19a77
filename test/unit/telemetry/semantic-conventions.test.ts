import { describe, expect, it } from 'vitest';
import { defaultPoolName, namespaceOf, OPERATION_DURATION_BUCKETS, sqlStateOf } from '~/telemetry/semantic-conventions.ts';

describe('sqlStateOf', () => {
  it.each([
    ['40001', '40001'],
    ['57P01', '57P01'],
    ['08P01', '08P01'],
    ['42P01', '42P01'],
    ['P0001', 'P0001'], // PL/pgSQL RAISE
    ['XX000', 'XX000'],
    ['F0000', 'F0000'],
    ['HV000', 'HV000'],
    ['P2010', null], // Prisma
    ['P1001', null],
    ['EPIPE', null], // socket code of SQLSTATE length
    ['ECONNRESET', null],
    ['4000', null],
    ['40001x', null],
    [null, null],
  ])('%s → %s', (code, expected) => {
    expect(sqlStateOf(code)).toBe(expected);
  });
});

describe('namespaceOf', () => {
  it.each([
    ['app', 'tenant', 'app|tenant'],
    ['app', null, 'app'],
    [null, 'tenant', 'tenant'],
    [null, null, null],
    ['', null, null],
  ])('%s + %s → %s', (database, schema, expected) => {
    expect(namespaceOf(database, schema)).toBe(expected);
  });
});

describe('defaultPoolName', () => {
  it('server.address:server.port/db.namespace, IPv6 in brackets, no namespace without one', () => {
    expect(defaultPoolName('db.example.com', 6543, 'app')).toBe('db.example.com:6543/app');
    expect(defaultPoolName('::1', 5432, 'app')).toBe('[::1]:5432/app');
    expect(defaultPoolName('db', 5432, null)).toBe('db:5432');
  });
});

it('duration buckets are the spec’s advice', () => {
  expect(OPERATION_DURATION_BUCKETS).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
});
