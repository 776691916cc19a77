import { expect, it } from 'vitest';
import { describePoolTarget } from '~/telemetry/pool-target.ts';

const URL = 'postgresql://app:s3cret-pass@db.example.com:6543/shop?sslmode=require&connection_limit=1';

it('host, port, namespace and the spec’s default pool name; never the user or password', () => {
  const target = describePoolTarget('primary', URL, null);
  expect(target).toEqual({
    role: 'primary',
    address: 'db.example.com',
    port: 6543,
    namespace: 'shop',
    poolName: 'db.example.com:6543/shop',
  });
  expect(JSON.stringify(target)).not.toMatch(/s3cret|app:/);
  expect(Object.isFrozen(target)).toBe(true);
});

it('the schema joins the namespace as database|schema', () => {
  expect(describePoolTarget('primary', URL, 'tenant').namespace).toBe('shop|tenant');
});

it('default port 5432; the port parameter wins over the host’s', () => {
  expect(describePoolTarget('primary', 'postgresql://u@h/db', null).port).toBe(5432);
  expect(describePoolTarget('primary', 'postgresql://u@h:1/db?port=7000', null).port).toBe(7000);
});

it('pool names: the option names the primary, the replica gets :read; default names differ by host, or get :read when equal', () => {
  expect(describePoolTarget('primary', URL, null, { poolName: 'orders' }).poolName).toBe('orders');
  expect(describePoolTarget('read', URL, null, { poolName: 'orders' }).poolName).toBe('orders:read');
  const replica = 'postgresql://app:x@replica.example.com:6543/shop';
  const primaryName = new Set(['db.example.com:6543/shop']);
  expect(describePoolTarget('read', replica, null, { taken: primaryName }).poolName).toBe('replica.example.com:6543/shop');
  expect(describePoolTarget('read', URL, null, { taken: primaryName }).poolName).toBe('db.example.com:6543/shop:read');
});

it('several replicas get distinct names, whatever their URLs and the poolName option', () => {
  const replica = 'postgresql://app:x@replica.example.com:6543/shop';
  const names = (poolName?: string): string[] => {
    const taken = new Set<string>([describePoolTarget('primary', URL, null, { poolName }).poolName]);
    for (const url of [replica, replica, URL, replica]) taken.add(describePoolTarget('read', url, null, { poolName, taken }).poolName);
    return [...taken];
  };
  expect(names()).toEqual([
    'db.example.com:6543/shop',
    'replica.example.com:6543/shop',
    'replica.example.com:6543/shop:read',
    'db.example.com:6543/shop:read',
    'replica.example.com:6543/shop:read-2',
  ]);
  expect(names('orders')).toEqual(['orders', 'orders:read', 'orders:read-2', 'orders:read-3', 'orders:read-4']);
});
