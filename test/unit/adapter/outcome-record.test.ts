import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { beginTransaction, createOutcomeRecord, currentOutcomeRecord, runWithOutcomeRecord } from '~/adapter/outcome-record.ts';

describe('outcome record', () => {
  it('starts empty, with what the attempt asked for', () => {
    const settle = async () => 'committed' as const;
    expect(createOutcomeRecord({ settle, plainWriteCommit: 'confirmed' })).toEqual({
      plainWriteCommit: 'confirmed',
      settle,
      began: false,
      xid: null,
      serverStartedAt: null,
      commitSent: false,
      commitAnswered: false,
      resultReceived: false,
      settled: null,
      earlierCommitted: false,
    });
    expect(createOutcomeRecord().plainWriteCommit).toBeNull();
  });

  it('beginTransaction clears what an earlier transaction of the attempt left', () => {
    const record = createOutcomeRecord();
    Object.assign(record, { xid: '7', commitSent: true, commitAnswered: true, resultReceived: true, settled: 'aborted' });
    beginTransaction(record);
    expect(record).toMatchObject({
      began: true,
      xid: null,
      serverStartedAt: null,
      commitSent: false,
      commitAnswered: false,
      resultReceived: false,
      settled: null,
    });
  });

  it('is current inside runWithOutcomeRecord, across awaits and timers, and nowhere else', async () => {
    const record = createOutcomeRecord();
    const seen = await runWithOutcomeRecord(record, async () => {
      const first = currentOutcomeRecord();
      await new Promise((resolve) => setTimeout(resolve, 1));
      const afterTimer = currentOutcomeRecord();
      const inMicrotask = await Promise.resolve().then(() => currentOutcomeRecord());
      return [first, afterTimer, inMicrotask];
    });
    expect(seen).toEqual([record, record, record]);
    expect(currentOutcomeRecord()).toBeUndefined();
  });

  it('is gone once no attempt runs: a timer an attempt left behind does not see its record', async () => {
    const record = createOutcomeRecord();
    let fire: () => void = () => {};
    const fired = new Promise<void>((resolve) => {
      fire = resolve;
    });
    let leftBehind: unknown = 'not run';
    await runWithOutcomeRecord(record, async () => {
      setTimeout(() => {
        leftBehind = currentOutcomeRecord();
        fire();
      }, 5);
      return currentOutcomeRecord();
    });
    await fired;
    expect(leftBehind).toBeUndefined();
    // And a later attempt has its record again.
    const later = createOutcomeRecord();
    expect(await runWithOutcomeRecord(later, async () => currentOutcomeRecord())).toBe(later);
  });

  it('stays on while another attempt still runs', async () => {
    const a = createOutcomeRecord();
    const b = createOutcomeRecord();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = runWithOutcomeRecord(a, async () => {
      await held;
      return currentOutcomeRecord();
    });
    expect(await runWithOutcomeRecord(b, async () => currentOutcomeRecord())).toBe(b);
    release();
    expect(await slow).toBe(a);
  });

  it('two attempts running at once each see their own record; a nested one wins inside', async () => {
    const a = createOutcomeRecord();
    const b = createOutcomeRecord();
    const [seenA, seenB] = await Promise.all([
      runWithOutcomeRecord(a, async () => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return currentOutcomeRecord();
      }),
      runWithOutcomeRecord(b, async () => {
        const inner = createOutcomeRecord();
        const nested = await runWithOutcomeRecord(inner, async () => currentOutcomeRecord());
        expect(nested).toBe(inner);
        return currentOutcomeRecord();
      }),
    ]);
    expect(seenA).toBe(a);
    expect(seenB).toBe(b);
  });

  // Last: the module then stops calling disable() for the rest of this file.
  it("a runtime whose disable() throws (workerd's: not implemented) keeps every attempt's outcome and record", async () => {
    const disable = vi.spyOn(AsyncLocalStorage.prototype, 'disable').mockImplementation(() => {
      throw new Error('asyncLocalStorage.disable() is not implemented');
    });
    try {
      const first = createOutcomeRecord();
      expect(await runWithOutcomeRecord(first, async () => currentOutcomeRecord())).toBe(first);
      const failing = runWithOutcomeRecord(createOutcomeRecord(), async () => {
        throw new Error('the attempt failed');
      });
      await expect(failing).rejects.toThrow('the attempt failed');
      const second = createOutcomeRecord();
      expect(await runWithOutcomeRecord(second, async () => currentOutcomeRecord())).toBe(second);
    } finally {
      disable.mockRestore();
    }
  });
});
