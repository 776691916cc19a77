/**
 * The call runner with plans whose attempts throw real-shaped errors, over stand-in pools (a
 * PoolAdmission over an object with pg.Pool's `waitingCount`, a router that records what it is
 * told): pure, no database. What every kind of call gets from the one runner.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { CallPlan, CallPools, PoolHandleLike } from '~/call/call-plan.ts';
import { CallRunner } from '~/call/call-runner.ts';
import { AUTO_PIN, withTarget } from '~/call/pin.ts';
import { createMetrics } from '~/metrics/metrics.ts';
import type { PoolRole } from '~/metrics/sink.ts';
import { PoolAdmission } from '~/pool/pool-admission.ts';
import type { ReadRouter } from '~/routing/read-router.ts';
import { resolveRetryOptions } from '~/transaction/retry.ts';
import { WriteInDisguise } from '~/transaction/run-plain-attempt.ts';

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
const lost = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
const policy = resolveRetryOptions({ baseDelayMs: 0, maxDelayMs: 0, failoverTimeoutMs: 300 });

const handle = (role: PoolRole): PoolHandleLike => ({
  target: Object.freeze({ role, address: role, port: 1, namespace: null, poolName: role }),
  admission: new PoolAdmission({ waitingCount: 0 } as pg.Pool, 3, undefined),
});

function setup(withReplica = false) {
  const primary = handle('primary');
  const replica = handle('read');
  const told: string[] = [];
  let down = false; // as the real router: a replica that failed is marked down until a poll finds it
  const router = {
    route: (_after: unknown, how: string) => {
      told.push(`route:${how}`);
      return how === 'primary' || down
        ? { target: 'primary-fallback', handle: null, replicaIndex: null }
        : { target: 'replica', handle: replica, replicaIndex: 0 };
    },
    replicaFailed: () => {
      told.push('replicaFailed');
      down = true;
      return true;
    },
    noteWrite: () => told.push('noteWrite'),
  } as unknown as ReadRouter<PoolHandleLike>;
  const pools: CallPools<PoolHandleLike> = {
    config: {} as CallPools<PoolHandleLike>['config'],
    primary,
    router: withReplica ? router : null,
  };
  const metrics = createMetrics();
  const runner = new CallRunner<PoolHandleLike>({ pools: () => pools, current: () => pools, telemetry: () => null, metrics });
  return { runner, metrics, told, primary, replica };
}

type Attempt = CallPlan<PoolHandleLike, string>['attempt'];
const plan = (attempt: Attempt, overrides: Partial<CallPlan<PoolHandleLike, string>> = {}): CallPlan<PoolHandleLike, string> => ({
  kind: 'plain-write',
  read: false,
  writes: true,
  pin: AUTO_PIN,
  retryDefaults: policy,
  idempotent: false,
  attempt,
  ...overrides,
});

describe('CallRunner', () => {
  it('a refused connection before any call reached the database: the ordinary 3 attempts; after one: the failover window', async () => {
    const { runner } = setup();
    let calls = 0;
    await expect(
      runner.run(
        plan(async () => {
          calls++;
          throw refused();
        }),
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(3);
    await runner.run(plan(async () => 'ok')); // the database answered a plain call once
    calls = 0;
    await runner.run(
      plan(async () => {
        if (++calls < 6) throw refused();
        return 'ok';
      }),
    );
    expect(calls).toBe(6); // past maxAttempts: retried inside the window
  });

  it('a write is noted on the router whatever its outcome; a read is not', async () => {
    const { runner, told } = setup(true);
    await runner.run(plan(async () => 'ok'));
    await expect(runner.run(plan(async () => Promise.reject(new Error('app'))))).rejects.toThrow('app');
    await runner.run(plan(async () => 'read', { kind: 'plain-read', read: true, writes: false, idempotent: true }));
    expect(told.filter((t) => t === 'noteWrite')).toHaveLength(2);
  });

  it('a read routed to a replica that fails goes to the primary next; a primary pin never asks the router', async () => {
    const { runner, told, primary, replica } = setup(true);
    const served: unknown[] = [];
    const read = plan(
      async ({ handle }) => {
        served.push(handle);
        if (handle === replica) throw lost();
        return 'ok';
      },
      { kind: 'plain-read', read: true, writes: false, idempotent: true },
    );
    await expect(runner.run(read)).resolves.toBe('ok');
    expect(served).toEqual([replica, primary]);
    expect(told).toEqual(['route:consistent', 'replicaFailed', 'route:consistent']);
    told.length = 0;
    await runner.run({ ...read, pin: withTarget(AUTO_PIN, 'primary'), attempt: async () => 'ok' });
    expect(told).toEqual([]);
  });

  it('a raw read refused as a write runs once as its write plan, which is noted', async () => {
    const { runner, told } = setup(true);
    let writes = 0;
    const asWrite = plan(async () => {
      writes++;
      return 'wrote';
    });
    const read = plan(
      async () => {
        throw new WriteInDisguise();
      },
      { kind: 'plain-read', read: true, writes: false, idempotent: true, asWrite },
    );
    await expect(runner.run(read)).resolves.toBe('wrote');
    expect(writes).toBe(1);
    expect(told).toContain('noteWrite');
  });

  it('counts every call in flight until it settles, and records it once', async () => {
    const { runner, metrics } = setup();
    let release!: () => void;
    const running = runner.run(plan(() => new Promise<string>((resolve) => (release = () => resolve('done')))));
    expect(runner.inFlight.count).toBe(1);
    const drained = runner.inFlight.drained(5000);
    release();
    await expect(drained).resolves.toBe(true);
    await running;
    expect(runner.inFlight.count).toBe(0);
    expect(metrics.snapshot().byKind['plain-write'].totalQueries).toBe(1);
    await expect(runner.inFlight.drained(0)).resolves.toBe(true);
  });
});
