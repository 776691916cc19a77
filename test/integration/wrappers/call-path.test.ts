/**
 * The call path's rules, each pinned by a case that failed before it held:
 * - one rule decides whether an unknown COMMIT outcome is retried: `idempotent` (default true for
 *   reads) — `readWithPooling(fn, { idempotent: false })` used to be retried anyway;
 * - transaction timings are validated at the boundary with a ConfigError naming the option;
 * - the manager's own option errors are ConfigError, like the config's.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { ConfigError, TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { createConnectionPoolManager } from '~/manager/connection-pool-manager.ts';
import { startProxy, type TcpProxy } from '../../../tools/stack/faults/index.ts';
import { dropNextFlight } from '../../support/drop-flight.ts';
import { type TestManager, testManager } from '../../support/managers.ts';
import { managerTracker } from '../../support/track.ts';

const stack = inject('stack');
const track = managerTracker();
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
});
afterAll(() => proxy?.close());

/** A read whose COMMIT is lost on the way (RepeatableRead: one transaction, COMMIT at the end). */
function lostAtCommit(manager: TestManager, options: { idempotent?: boolean }) {
  let attempts = 0;
  const result = manager
    .readWithPooling(
      async (tx) => {
        attempts++;
        await tx.$queryRaw`SELECT 1`;
        if (attempts === 1) dropNextFlight(proxy);
        return 'read';
      },
      { isolationLevel: 'RepeatableRead', ...options },
    )
    .catch((e: unknown) => e);
  return result.then((value) => ({ value, attempts }));
}

describe('one rule for an unknown COMMIT outcome', () => {
  it('readWithPooling retries it by default (reads are idempotent)', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, { retry: { maxAttempts: 3 } }));
    const { value, attempts } = await lostAtCommit(manager, {});
    expect(value).toBe('read');
    expect(attempts).toBe(2);
    expect(manager.getMetrics().retriesByKind['outcome-unknown']).toBe(1);
  });

  it('readWithPooling(fn, { idempotent: false }) does not retry it', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, { retry: { maxAttempts: 3 } }));
    const { value, attempts } = await lostAtCommit(manager, { idempotent: false });
    expect(value).toBeInstanceOf(TransactionOutcomeUnknownError);
    expect(attempts).toBe(1);
  });
});

describe('transaction timings validated at the boundary', () => {
  it.each([
    ['maxWait', 0],
    ['maxWait', -5],
    ['timeout', Number.NaN],
    ['timeout', 2 ** 31],
  ] as const)('per call: %s = %s is a ConfigError naming it, before any connection is taken', async (name, value) => {
    const manager = track(testManager(stack));
    let ran = false;
    const error = await manager
      .withPooling(
        async () => {
          ran = true;
        },
        { [name]: value },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect(ran).toBe(false);
  });

  it.each([0, -1, Number.POSITIVE_INFINITY])('transactionTimeoutMs = %s is a ConfigError naming it', (value) => {
    expect(() => testManager(stack, {}, { transactionTimeoutMs: value })).toThrow(ConfigError);
    expect(() => testManager(stack, {}, { transactionTimeoutMs: value })).toThrow(/^transactionTimeoutMs: /);
  });

  it('a valid transactionTimeoutMs is what Prisma enforces', async () => {
    const manager = track(testManager(stack, {}, { transactionTimeoutMs: 300, retry: { maxAttempts: 1 } }));
    const error = await manager
      .withPooling(async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        return tx.$queryRaw`SELECT 1`;
      })
      .catch((e: unknown) => e);
    expect(classifyError(error).kind).toBe('transaction-closed');
  });
});

describe("the manager's option errors are ConfigError", () => {
  it.each([
    ['createClient', { createClient: 'no' }],
    ['maxWaitingCallers', { createClient: () => null, maxWaitingCallers: -1 }],
    ['healthTimeoutMs', { createClient: () => null, healthTimeoutMs: 0 }],
  ] as [string, unknown][])('%s', (variable, options) => {
    const error = (() => {
      try {
        createConnectionPoolManager(options as never);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });

  it('batchWithPooling with a non-function op, and shutdown with a negative timeout', async () => {
    const manager = createConnectionPoolManager({
      createClient: (adapter) => new PrismaClient({ adapter }),
      env: { DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true' },
    });
    await expect(manager.batchWithPooling([1 as never])).rejects.toBeInstanceOf(ConfigError);
    await expect(manager.shutdown({ timeoutMs: -1 })).rejects.toBeInstanceOf(ConfigError);
    await manager.disconnect();
  });
});
