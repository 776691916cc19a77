/** Admission arithmetic (pure: the pool is only read for its `waitingCount`). */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PoolSaturatedError } from '~/errors/errors.ts';
import { PoolAdmission } from '~/pool/pool-admission.ts';

const pool = (waitingCount = 0) => ({ waitingCount }) as pg.Pool;

describe('PoolAdmission', () => {
  it('admits up to the limit without waiting, then marks attempts as waiting', () => {
    const admission = new PoolAdmission(pool(), 2, undefined);
    expect([admission.admit(), admission.admit(), admission.admit()]).toEqual([false, false, true]);
  });

  it('sheds a same-tick burst past maxWaitingCallers, before pg.Pool has queued anyone', () => {
    const admission = new PoolAdmission(pool(0), 2, 2);
    for (let i = 0; i < 4; i++) admission.admit(); // 2 running + 2 waiting
    expect(() => admission.admit()).toThrow(PoolSaturatedError);
  });

  it('maxWaitingCallers: 0 still admits a caller that has a free connection', () => {
    const admission = new PoolAdmission(pool(0), 1, 0);
    expect(admission.admit()).toBe(false);
    expect(() => admission.admit()).toThrow(PoolSaturatedError);
  });

  it('frees the slot when an attempt settles', () => {
    const admission = new PoolAdmission(pool(), 1, 0);
    expect(admission.admit()).toBe(false);
    expect(() => admission.admit()).toThrow(PoolSaturatedError);
    admission.settle();
    expect(admission.admit()).toBe(false);
  });

  it("trusts pg.Pool's own queue when it is longer than our count", () => {
    const admission = new PoolAdmission(pool(5), 3, 5);
    expect(() => admission.admit()).toThrow(PoolSaturatedError);
  });
});
