/**
 * One monitor per host (no server: the probe is a stand-in): marked down once, probed back with
 * backoff on unref'd timers, its connections ended; and the fleet's choice of host for a new
 * connection. The real fleet runs in test/integration/pool/pooler-fleet.test.ts.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostList } from '~/config/host-list.ts';
import { HostFleet } from '~/pool/host-fleet.ts';
import { HostMonitor } from '~/pool/host-monitor.ts';

const host = { host: 'pgb1', port: 6432 };
const BACKOFF = { firstMs: 100, maxMs: 400 };
/** No jitter: random() = 0.5 gives a factor of exactly 1. */
const half = () => 0.5;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('HostMonitor', () => {
  it('is up until marked down; the first report marks it, ends its connections once, and later reports change nothing', () => {
    const onDown = vi.fn();
    const monitor = new HostMonitor({ host, probe: () => Promise.reject(new Error('down')), onDown, backoff: BACKOFF, random: half });
    expect(monitor.state).toBe('up');
    monitor.markDown('connection');
    monitor.markDown('silent');
    expect(monitor.status()).toEqual({
      host: 'pgb1:6432',
      state: 'down',
      downs: 1,
      recoveries: 0,
      probes: 0,
      lastDownReason: 'connection',
    });
    expect(onDown).toHaveBeenCalledTimes(1);
    monitor.close();
  });

  it('probes with backoff (×2 up to the cap) while the host stays down, and takes it back at the first answer', async () => {
    let answer = false;
    const probe = vi.fn(() => (answer ? Promise.resolve() : Promise.reject(new Error('refused'))));
    const monitor = new HostMonitor({ host, probe, backoff: BACKOFF, random: half });
    monitor.markDown('connection');
    await vi.advanceTimersByTimeAsync(99);
    expect(probe).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1); // 100
    expect(probe).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(200); // 300
    expect(probe).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(400); // 700
    expect(probe).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(400); // capped: 1100
    expect(probe).toHaveBeenCalledTimes(4);
    answer = true;
    await vi.advanceTimersByTimeAsync(400);
    expect(monitor.status()).toMatchObject({ state: 'up', downs: 1, recoveries: 1, probes: 5 });
    // Up: no timer left behind.
    expect(vi.getTimerCount()).toBe(0);
    // Down again: the backoff starts over.
    monitor.markDown('silent');
    await vi.advanceTimersByTimeAsync(100);
    expect(monitor.status()).toMatchObject({ state: 'up', downs: 2, recoveries: 2, probes: 6 });
  });

  it('its timers never keep a process alive, and close() stops the probes', async () => {
    const unref = vi.fn();
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      const timer = realSetTimeout(fn, ms);
      (timer as unknown as { unref: () => void }).unref = unref;
      return timer;
    }) as typeof setTimeout);
    const probe = vi.fn(() => Promise.reject(new Error('refused')));
    const monitor = new HostMonitor({ host, probe, backoff: BACKOFF, random: half });
    monitor.markDown('connection');
    spy.mockRestore();
    expect(unref).toHaveBeenCalled();
    monitor.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(probe).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a probe that throws synchronously counts as down, never escapes its timer', async () => {
    const monitor = new HostMonitor({
      host,
      probe: () => {
        throw new TypeError('broken probe');
      },
      backoff: BACKOFF,
      random: half,
    });
    monitor.markDown('connection');
    await vi.advanceTimersByTimeAsync(100);
    expect(monitor.status()).toMatchObject({ state: 'down', probes: 1 });
    monitor.close();
  });
});

const list = (loadBalanceHosts: HostList['loadBalanceHosts']): HostList => ({
  hosts: [
    { host: 'a', port: 1 },
    { host: 'b', port: 1 },
    { host: 'c', port: 1 },
  ],
  targetSessionAttrs: 'any',
  loadBalanceHosts,
});

/** A connected client stand-in: ends when its socket is destroyed. */
function client() {
  const emitter = new EventEmitter() as EventEmitter & { connection: { stream: { destroy: () => void } }; destroyed: boolean };
  emitter.destroyed = false;
  emitter.connection = {
    stream: {
      destroy: () => {
        emitter.destroyed = true;
        emitter.emit('end');
      },
    },
  };
  return emitter as unknown as pg.ClientBase & { destroyed: boolean };
}

describe('HostFleet', () => {
  it('load_balance_hosts=disable: the URL’s order, hosts that are down last', () => {
    const fleet = new HostFleet(list('disable'), { probe: () => new Promise(() => {}), backoff: BACKOFF });
    expect(fleet.order().map((m) => m.name)).toEqual(['a:1', 'b:1', 'c:1']);
    fleet.monitors[0]?.markDown('connection');
    expect(fleet.order().map((m) => m.name)).toEqual(['b:1', 'c:1', 'a:1']);
    fleet.close();
  });

  it('load_balance_hosts=random: every up host gets new connections, a down one none while another is up', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const fleet = new HostFleet(list('random'), { probe: () => new Promise(() => {}), backoff: BACKOFF, random });
    const firsts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const name = fleet.order()[0]?.name as string;
      firsts.set(name, (firsts.get(name) ?? 0) + 1);
    }
    expect([...firsts.keys()].sort()).toEqual(['a:1', 'b:1', 'c:1']);
    for (const count of firsts.values()) expect(count).toBeGreaterThan(60);
    fleet.monitors[1]?.markDown('silent');
    for (let i = 0; i < 100; i++) expect(fleet.order()[0]?.name).not.toBe('b:1');
    // Every host down: all of them are still tried (the monitors may not have seen one come back).
    fleet.monitors[0]?.markDown('connection');
    fleet.monitors[2]?.markDown('connection');
    expect(fleet.order()).toHaveLength(3);
    fleet.close();
  });

  it('a host marked down has the connections open to it ended; the others keep theirs; counts follow', () => {
    const fleet = new HostFleet(list('disable'), { probe: () => new Promise(() => {}), backoff: BACKOFF });
    const [a, b] = fleet.monitors as [HostMonitor, HostMonitor];
    const onA = [client(), client()];
    const onB = client();
    for (const c of onA) fleet.track(c, a);
    fleet.track(onB, b);
    expect(fleet.hostOf(onB)).toBe(b);
    expect(fleet.openConnections()).toEqual({ 'a:1': 2, 'b:1': 1, 'c:1': 0 });
    a.markDown('silent');
    expect(onA.map((c) => c.destroyed)).toEqual([true, true]);
    expect(onB.destroyed).toBe(false);
    expect(fleet.openConnections()).toEqual({ 'a:1': 0, 'b:1': 1, 'c:1': 0 });
    expect(fleet.status().map((s) => s.state)).toEqual(['down', 'up', 'up']);
    fleet.close();
  });
});

describe('one fleet per URL in a process', () => {
  it('the pools and one-off connections of one URL share its monitors; the last release stops them and a new user gets a new fleet', async () => {
    const { acquireHostFleet } = await import('~/pool/multi-host.ts');
    const url = 'postgresql://u:p@a:1,b:1,c:1/db';
    const first = acquireHostFleet(url, list('random'));
    const second = acquireHostFleet(url, list('random'));
    expect(second).toBe(first);
    expect(acquireHostFleet('postgresql://v:p@a:1,b:1,c:1/db', list('random'))).not.toBe(first);
    first.setProbe(() => Promise.reject(new Error('refused')));
    first.monitors[0]?.markDown('connection');
    expect(first.release()).toBe(false);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    expect(second.release()).toBe(true);
    expect(first.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    const third = acquireHostFleet(url, list('random'));
    expect(third).not.toBe(first);
    expect(third.status().map((s) => s.state)).toEqual(['up', 'up', 'up']);
    third.release();
  });
});
