/** Admission arithmetic (pure: the pool is only read for its `waitingCount`). */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PoolSaturatedError } from '~/errors/errors.ts';
import { PoolAdmission } from '~/pool/pool-admission.ts';

const pool = (waitingCount = 0) => ({ waitingCount }) as pg.Pool;

describe('PoolAdmission', () => {
  it('admits up to the limit without waiting, then marks attempts as waiting', () => {
    const admission = new PoolAdmission(pool(), 2, undefined);
    expect([admission.admit().waits, admission.admit().waits, admission.admit().waits]).toEqual([false, false, true]);
  });

  it('sheds a same-tick burst past maxWaitingCallers, before pg.Pool has queued anyone', () => {
    const admission = new PoolAdmission(pool(0), 2, 2);
    for (let i = 0; i < 4; i++) admission.admit(); // 2 running + 2 waiting
    expect(() => admission.admit()).toThrow(PoolSaturatedError);
  });

  it('maxWaitingCallers: 0 still admits a caller that has a free connection', () => {
    const admission = new PoolAdmission(pool(0), 1, 0);
    expect(admission.admit().waits).toBe(false);
    expect(() => admission.admit()).toThrow(PoolSaturatedError);
  });

  it('frees the slot when an attempt settles, at most once, whichever phase it was in', () => {
    const admission = new PoolAdmission(pool(), 1, 0);
    const first = admission.admit();
    first.started();
    first.settled();
    first.settled();
    const second = admission.admit();
    expect(second.waits).toBe(false);
    second.settled(); // settled before it ever started (e.g. a pool timeout)
    expect(admission.admit().waits).toBe(false);
  });

  it("trusts pg.Pool's own queue when it is longer than our count", () => {
    const admission = new PoolAdmission(pool(5), 3, 5);
    expect(() => admission.admit()).toThrow(PoolSaturatedError);
  });
});
