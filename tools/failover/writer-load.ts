/**
 * Writers that keep writing while a fault runs, and the ledger check afterwards: every write
 * inserts one row carrying a key no other write uses, into a table with no unique constraint, so
 * a write applied twice shows up as two rows. What each caller was told is compared with the table.
 */

import { classifyError } from '../../src/errors/classify-error.ts';
import { TransactionOutcomeUnknownError } from '../../src/errors/errors.ts';

export interface WriterLoadOptions {
  /** Concurrent writers. */
  readonly writers: number;
  /** One write carrying `key`; resolves when acknowledged. */
  readonly write: (key: string) => Promise<unknown>;
}

export interface WriterLoadResult {
  readonly calls: number;
  readonly acknowledged: readonly string[];
  /** Calls that ended in TransactionOutcomeUnknownError: the row may or may not be there. */
  readonly outcomeUnknown: readonly string[];
  /** Any other rejection: key and classified kind. */
  readonly failed: readonly { key: string; kind: string; message: string }[];
  /** Longest time with no write acknowledged by any writer, ms (the stall the app sees). */
  readonly longestStallMs: number;
  /** Longest single call, ms. */
  readonly longestCallMs: number;
}

export interface WriterLoad {
  /** Stops starting new writes, waits for the running ones and returns the tally. */
  stop(): Promise<WriterLoadResult>;
  /** Acknowledged writes so far. */
  readonly acknowledgedCount: number;
  /** performance.now() of each acknowledgement, in order. */
  readonly ackTimes: readonly number[];
}

/** Starts `writers` loops at once. Keys are `<prefix>-<writer>-<n>`. */
export function startWriterLoad(options: WriterLoadOptions, prefix = 'w'): WriterLoad {
  const acknowledged: string[] = [];
  const outcomeUnknown: string[] = [];
  const failed: { key: string; kind: string; message: string }[] = [];
  const ackTimes: number[] = [];
  let calls = 0;
  let stopping = false;
  const startedAt = performance.now();
  let lastAck = startedAt;
  let longestStallMs = 0;
  let longestCallMs = 0;
  const loops = Array.from({ length: options.writers }, async (_, writer) => {
    for (let n = 0; !stopping; n++) {
      const key = `${prefix}-${writer}-${n}`;
      const began = performance.now();
      calls++;
      try {
        await options.write(key);
        const now = performance.now();
        longestStallMs = Math.max(longestStallMs, now - lastAck);
        lastAck = now;
        acknowledged.push(key);
        ackTimes.push(now);
      } catch (error) {
        if (error instanceof TransactionOutcomeUnknownError) outcomeUnknown.push(key);
        else failed.push({ key, kind: classifyError(error).kind, message: String((error as Error)?.message).slice(0, 200) });
      }
      longestCallMs = Math.max(longestCallMs, performance.now() - began);
    }
  });
  return {
    get acknowledgedCount() {
      return acknowledged.length;
    },
    ackTimes,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return {
        calls,
        acknowledged,
        outcomeUnknown,
        failed,
        longestStallMs: Math.round(longestStallMs),
        longestCallMs: Math.round(longestCallMs),
      };
    },
  };
}

export interface LedgerCheck {
  /** Acknowledged, but no row. */
  readonly lost: readonly string[];
  /** More than one row for one key. */
  readonly duplicated: readonly string[];
  /** Outcome-unknown calls whose row is there (they did commit). */
  readonly unknownApplied: number;
}

/** Compares what the callers were told with the rows found (`counts`: key → number of rows). */
export function checkLedger(result: WriterLoadResult, counts: ReadonlyMap<string, number>): LedgerCheck {
  return {
    lost: result.acknowledged.filter((key) => (counts.get(key) ?? 0) === 0),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([key]) => key),
    unknownApplied: result.outcomeUnknown.filter((key) => (counts.get(key) ?? 0) > 0).length,
  };
}
