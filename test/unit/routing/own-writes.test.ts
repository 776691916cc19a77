import { describe, expect, it } from 'vitest';
import { FETCH_RETRY_MS, OwnWrites } from '~/routing/own-writes.ts';

/** A fetch whose answers the test hands out one by one. */
function controlledFetch() {
  const waiting: Array<{ resolve: (lsn: bigint) => void; reject: (error: Error) => void }> = [];
  let calls = 0;
  const fetch = () =>
    new Promise<bigint>((resolve, reject) => {
      calls++;
      waiting.push({ resolve, reject });
    });
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return {
    fetch,
    get calls() {
      return calls;
    },
    async answer(lsn: bigint) {
      const next = waiting.shift();
      if (!next) throw new Error('no fetch in flight');
      next.resolve(lsn);
      await tick();
    },
    async fail() {
      waiting.shift()?.reject(new Error('connection lost'));
      await tick();
    },
    get inFlight() {
      return waiting.length;
    },
  };
}

describe('OwnWrites', () => {
  it('nothing written: nothing pending, no position, no fetch', () => {
    const f = controlledFetch();
    const own = new OwnWrites(f.fetch);
    expect(own.pending).toBe(false);
    expect(own.position).toBeNull();
    expect(f.calls).toBe(0);
  });

  it('a write is pending until its position arrives; the position feeds onPosition', async () => {
    const f = controlledFetch();
    const seen: bigint[] = [];
    const own = new OwnWrites(f.fetch, (lsn) => seen.push(lsn));
    own.noteWrite();
    expect(own.pending).toBe(true);
    expect(f.inFlight).toBe(1);
    await f.answer(100n);
    expect(own.pending).toBe(false);
    expect(own.position).toBe(100n);
    expect(seen).toEqual([100n]);
  });

  it('a write that ends while a fetch is in flight is NOT covered by it: one more fetch follows', async () => {
    const f = controlledFetch();
    const own = new OwnWrites(f.fetch);
    own.noteWrite(); // fetch #1 sent
    own.noteWrite(); // ends after fetch #1 was sent
    own.noteWrite();
    expect(f.calls).toBe(1); // one in flight at a time
    await f.answer(100n);
    expect(own.pending).toBe(true); // #1 covers only the first write
    expect(own.position).toBe(100n);
    expect(f.calls).toBe(2); // the loop sent #2 for the other two
    await f.answer(180n);
    expect(own.pending).toBe(false);
    expect(own.position).toBe(180n);
    expect(f.calls).toBe(2);
  });

  it('positions never go backwards', async () => {
    const f = controlledFetch();
    const own = new OwnWrites(f.fetch);
    own.record(500n);
    own.noteWrite();
    await f.answer(400n); // cannot happen on one primary, but must not lower the requirement
    expect(own.position).toBe(500n);
  });

  it('a position recorded with the COMMIT (pipelined) covers every write so far without a fetch', () => {
    const f = controlledFetch();
    const own = new OwnWrites(f.fetch);
    own.record(300n);
    expect(own.pending).toBe(false);
    expect(own.position).toBe(300n);
    expect(f.calls).toBe(0);
  });

  it('after a failed fetch the write stays pending (reads stay on the primary); background retries wait FETCH_RETRY_MS', async () => {
    const f = controlledFetch();
    let now = 0;
    const own = new OwnWrites(
      f.fetch,
      () => {},
      () => now,
    );
    own.noteWrite();
    await f.fail();
    expect(own.pending).toBe(true);
    own.resolveSoon();
    expect(f.calls).toBe(1); // too soon after the failure
    now += FETCH_RETRY_MS;
    own.resolveSoon();
    expect(f.calls).toBe(2);
    await f.answer(42n);
    expect(own.pending).toBe(false);
  });

  it('resolve() fetches at least once even with nothing written (a token for "now"), and rejects with the fetch error', async () => {
    const f = controlledFetch();
    const own = new OwnWrites(f.fetch);
    const first = own.resolve();
    await f.answer(77n);
    await first;
    expect(own.position).toBe(77n);
    own.noteWrite();
    const second = own.resolve(); // joins the in-flight fetch
    expect(f.calls).toBe(2);
    const failed = f.fail();
    await expect(second).rejects.toThrow('connection lost');
    await failed;
  });
});

describe('OwnWrites across a promotion (WAL timelines)', () => {
  it('a position from a newer timeline replaces one of the old timeline, even a higher one; the change is told once', async () => {
    const answers = [
      { lsn: 0x5000000n, timeline: 1 },
      { lsn: 0x4800000n, timeline: 2 },
      { lsn: 0x4900000n, timeline: 2 },
    ];
    const own = new OwnWrites(async () => answers.shift() ?? { lsn: 0n, timeline: 2 });
    const told: number[] = [];
    own.onNewTimeline = (t) => told.push(t);
    own.noteWrite();
    await own.resolve();
    expect([own.position, own.timeline]).toEqual([0x5000000n, 1]);
    // The old primary's last position is past the point the standby was promoted at: it would never be replayed.
    own.noteWrite();
    await own.resolve();
    expect([own.position, own.timeline]).toEqual([0x4800000n, 2]);
    own.noteWrite();
    await own.resolve();
    expect([own.position, own.timeline]).toEqual([0x4900000n, 2]);
    expect(told).toEqual([2]);
  });

  it('a position from an older timeline (a late answer of the old primary) neither lowers nor moves back the timeline', () => {
    const own = new OwnWrites(async () => 0n);
    own.record(0x4800000n, undefined, 2);
    own.record(0x5000000n, undefined, 1);
    expect(own.timeline).toBe(2);
    expect(own.position).toBe(0x5000000n);
  });

  it('a bare position (no timeline, as before) keeps the old behaviour', () => {
    const own = new OwnWrites(async () => 0n);
    own.record(500n);
    own.record(400n);
    expect([own.position, own.timeline]).toEqual([500n, null]);
  });
});
