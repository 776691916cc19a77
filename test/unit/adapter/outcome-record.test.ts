import { describe, expect, it } from 'vitest';
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
});
