/**
 * The silence watch against a stand-in socket (no server): which stretch of time counts, what is
 * destroyed, and that nothing is left armed. The real gray failure runs in
 * test/integration/faults/silent-host.test.ts.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { ConnectionSilentError, IncompatibleDependencyError } from '~/errors/errors.ts';
import { idleSuspects } from '~/pool/create-pool.ts';
import { SilenceWatch, watchedQuery } from '~/pool/silence-watch.ts';

class Stream extends EventEmitter {
  destroyedWith: unknown = 'not destroyed';
  destroy(error?: Error) {
    this.destroyedWith = error;
  }
}

const clientOver = (stream: Stream) => ({ connection: { stream } }) as unknown as pg.ClientBase;
const BOUND = 1_000;
/** The cut: half the bound, the rest is the call's to finish elsewhere. */
const CUT = BOUND / 2;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SilenceWatch', () => {
  it('destroys the socket with a ConnectionSilentError once a query has waited half the bound without a byte', () => {
    const stream = new Stream();
    const silent: number[] = [];
    const watch = new SilenceWatch(
      clientOver(stream),
      BOUND,
      () => 'pgb1:6432',
      (quietSince) => silent.push(quietSince),
    );
    vi.advanceTimersByTime(123);
    watch.begin();
    vi.advanceTimersByTime(CUT - 1);
    expect(stream.destroyedWith).toBe('not destroyed');
    vi.advanceTimersByTime(1);
    expect(stream.destroyedWith).toBeInstanceOf(ConnectionSilentError);
    const error = stream.destroyedWith as ConnectionSilentError;
    expect(error.message).toBe(
      'the connection to pgb1:6432 went silent: no byte for 500 ms while a query was outstanding (half of silenceTimeoutMs 1000 ms); it was destroyed',
    );
    expect(error).toMatchObject({ silenceMs: CUT, boundMs: BOUND, host: 'pgb1:6432' });
    // The pool is told when the connection last heard from its host: the query's start here.
    expect(silent).toEqual([123]);
    expect(classifyError(error)).toMatchObject({ kind: 'connection', retryable: true, failover: false });
  });

  it('every byte that arrives restarts the count: a slow stream of rows is never cut', () => {
    const stream = new Stream();
    const watch = new SilenceWatch(clientOver(stream), BOUND, () => 'h:1');
    watch.begin();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(CUT * 0.9);
      stream.emit('data', Buffer.from('D'));
    }
    expect(stream.destroyedWith).toBe('not destroyed');
    expect(watch.lastActivityAt).toBe(9 * CUT);
    vi.advanceTimersByTime(CUT);
    expect(stream.destroyedWith).toBeInstanceOf(ConnectionSilentError);
  });

  it('an idle connection is not watched: the timer goes when the last outstanding query settles', () => {
    const stream = new Stream();
    const watch = new SilenceWatch(clientOver(stream), BOUND, () => 'h:1');
    expect(watch).toMatchObject({ idle: true, lastActivityAt: 0 });
    const first = watch.begin();
    const second = watch.begin();
    first();
    first(); // idempotent
    expect(watch.idle).toBe(false);
    vi.advanceTimersByTime(CUT / 2);
    second();
    expect(watch.idle).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(BOUND * 10);
    expect(stream.destroyedWith).toBe('not destroyed');
  });

  it('a client without the socket where pg keeps it: IncompatibleDependencyError from begin(), before anything is sent', () => {
    const watch = new SilenceWatch({ connection: {} } as unknown as pg.ClientBase, BOUND, () => 'h:1');
    expect(() => watch.begin()).toThrow(IncompatibleDependencyError);
  });
});

describe('watchedQuery: each form of client.query is followed to its end', () => {
  it('the promise form', async () => {
    const stream = new Stream();
    const watch = new SilenceWatch(clientOver(stream), BOUND, () => 'h:1');
    let answer!: (v: string) => void;
    const result = watchedQuery(watch, () => new Promise<string>((resolve) => (answer = resolve)), ['SELECT 1']);
    expect(vi.getTimerCount()).toBe(1);
    answer('rows');
    await expect(result).resolves.toBe('rows');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the callback form: the caller’s callback still gets the answer', () => {
    const stream = new Stream();
    const watch = new SilenceWatch(clientOver(stream), BOUND, () => 'h:1');
    let callback!: (e: null, v: string) => void;
    const got: unknown[] = [];
    watchedQuery(
      watch,
      (...args: unknown[]) => {
        callback = args[1] as typeof callback;
      },
      ['SELECT 1', (e: unknown, v: unknown) => got.push(e, v)],
    );
    expect(vi.getTimerCount()).toBe(1);
    callback(null, 'rows');
    expect(got).toEqual([null, 'rows']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a Submittable (pg-cursor, pg-query-stream) through its end event', () => {
    const stream = new Stream();
    const watch = new SilenceWatch(clientOver(stream), BOUND, () => 'h:1');
    const submittable = Object.assign(new EventEmitter(), { submit() {} });
    expect(watchedQuery(watch, () => submittable, [submittable])).toBe(submittable);
    expect(vi.getTimerCount()).toBe(1);
    submittable.emit('end');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a synchronous throw settles it and reaches the caller', () => {
    const stream = new Stream();
    const watch = new SilenceWatch(clientOver(stream), BOUND, () => 'h:1');
    expect(() =>
      watchedQuery(watch, () => {
        throw new TypeError('bad query');
      }, ['x']),
    ).toThrow(TypeError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an unwatchable client rejects the query with the classified error (promise) or calls back with it', async () => {
    const watch = new SilenceWatch({ connection: {} } as unknown as pg.ClientBase, BOUND, () => 'h:1');
    const sent = vi.fn();
    await expect(watchedQuery(watch, sent, ['SELECT 1'])).rejects.toBeInstanceOf(IncompatibleDependencyError);
    const callback = vi.fn();
    watchedQuery(watch, sent, ['SELECT 1', callback]);
    await Promise.resolve();
    expect(callback.mock.calls[0]?.[0]).toBeInstanceOf(IncompatibleDependencyError);
    expect(sent).not.toHaveBeenCalled();
  });
});

describe('idleSuspects: after a cut, which other connections of the pool are ended', () => {
  const client = (host: string, idle: boolean, lastActivityAt: number) => ({ host, port: 6543, silence: { idle, lastActivityAt } });
  const silent = client('pgb1', false, 100);
  it.each([
    ['idle, same host, quiet since before the cut connection', client('pgb1', true, 50), true],
    ['idle, same host, quiet since exactly then', client('pgb1', true, 100), true],
    ['idle, same host, heard from it after: its path is alive', client('pgb1', true, 150), false],
    ['busy, same host: its own watch decides', client('pgb1', false, 50), false],
    ['never used (connecting or new)', client('pgb1', true, 0), false],
    ['another host of a fleet', client('pgb2', true, 50), false],
    ['no watch (bound off)', { host: 'pgb1', port: 6543, silence: null }, false],
  ])('%s → ended: %s', (_name, other, ended) => {
    expect(idleSuspects([silent, other], silent, 100)).toEqual(ended ? [other] : []);
  });
  it('never the cut connection itself, and another port is another host', () => {
    expect(idleSuspects([silent, { ...client('pgb1', true, 50), port: 6432 }], silent, 100)).toEqual([]);
  });
});
