import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../../../src/config/database-url.ts';
import { resolvePoolConfig } from '../../../src/config/resolve-pool-config.ts';
import {
  parseTcpSettings,
  resolveSilenceTimeout,
  SERVERLESS_SILENCE_TIMEOUT_MS,
  silenceCutAfterMs,
  type TcpSettings,
} from '../../../src/config/tcp-settings.ts';
import { ConfigError } from '../../../src/errors/errors.ts';

const tcp = (query: string) => parseTcpSettings(parseDatabaseUrl(`postgresql://u:secret@db:6543/app${query}`));

describe('libpq TCP parameters, as libpq reads them', () => {
  it('defaults: keepalives on, every time the system default', () => {
    expect(tcp('')).toEqual({
      keepAlive: true,
      keepAliveIdleMs: null,
      keepAliveIntervalMs: null,
      keepAliveCount: null,
      tcpUserTimeoutMs: null,
    });
    expect(Object.isFrozen(tcp(''))).toBe(true);
  });

  it.each<[string, Partial<TcpSettings>]>([
    ['?keepalives=0', { keepAlive: false }],
    ['?keepalives=1', { keepAlive: true }],
    // libpq's useKeepalives: any non-zero integer is "on".
    ['?keepalives=7', { keepAlive: true }],
    ['?keepalives=%200%20', { keepAlive: false }],
    ['?keepalives_idle=30', { keepAliveIdleMs: 30_000 }],
    ['?keepalives_interval=5&keepalives_count=3', { keepAliveIntervalMs: 5_000, keepAliveCount: 3 }],
    ['?tcp_user_timeout=9000', { tcpUserTimeoutMs: 9_000 }],
    // 0 means "system default"; negatives are clamped to 0 by libpq (setKeepalivesIdle, setTCPUserTimeout).
    ['?keepalives_idle=0&tcp_user_timeout=0', { keepAliveIdleMs: null, tcpUserTimeoutMs: null }],
    [
      '?keepalives_idle=-5&keepalives_count=-1&tcp_user_timeout=-100',
      { keepAliveIdleMs: null, keepAliveCount: null, tcpUserTimeoutMs: null },
    ],
    ['?tcp_user_timeout=+250', { tcpUserTimeoutMs: 250 }],
    // The last occurrence wins, as everywhere in the URL.
    ['?tcp_user_timeout=1&tcp_user_timeout=2000', { tcpUserTimeoutMs: 2_000 }],
  ])('%s', (query, expected) => {
    expect(tcp(query)).toMatchObject(expected);
  });

  it.each([
    'keepalives=yes',
    'keepalives_idle=1.5',
    'keepalives_interval=',
    'keepalives_count=3x',
    'tcp_user_timeout=1e4',
    'tcp_user_timeout=99999999999',
  ])('%s → ConfigError naming the parameter (libpq: invalid integer value)', (param) => {
    const key = param.split('=')[0] as string;
    const call = () => tcp(`?${param}`);
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(`DATABASE_URL (${key})`);
    expect(call).not.toThrow(/secret/);
  });

  it('a keepalives_idle beyond Node’s timer limit is refused', () => {
    expect(() => tcp('?keepalives_idle=2147484')).toThrow('DATABASE_URL (keepalives_idle)');
  });
});

describe('the silence bound', () => {
  const none = tcp('');
  it('serverless / transaction mode: min(15 s, pool timeout), written down as a constant', () => {
    expect(SERVERLESS_SILENCE_TIMEOUT_MS).toBeLessThanOrEqual(15_000);
    expect(resolveSilenceTimeout({ option: undefined, tcp: none, serverless: true, poolTimeoutMs: 10_000 })).toEqual({
      ms: 10_000,
      source: 'default',
    });
    expect(resolveSilenceTimeout({ option: undefined, tcp: none, serverless: true, poolTimeoutMs: 60_000 })).toEqual({
      ms: 15_000,
      source: 'default',
    });
  });

  it('a long-running process has none by default (long quiet queries may be on purpose)', () => {
    expect(resolveSilenceTimeout({ option: undefined, tcp: none, serverless: false, poolTimeoutMs: 10_000 })).toEqual({
      ms: null,
      source: 'default',
    });
  });

  it('the URL’s tcp_user_timeout sets it; the option beats the URL, and null turns it off', () => {
    const url = tcp('?tcp_user_timeout=4000');
    expect(resolveSilenceTimeout({ option: undefined, tcp: url, serverless: false, poolTimeoutMs: 10_000 })).toEqual({
      ms: 4_000,
      source: 'url',
    });
    expect(resolveSilenceTimeout({ option: 2_500, tcp: url, serverless: true, poolTimeoutMs: 10_000 })).toEqual({
      ms: 2_500,
      source: 'option',
    });
    expect(resolveSilenceTimeout({ option: null, tcp: url, serverless: true, poolTimeoutMs: 10_000 })).toEqual({
      ms: null,
      source: 'option',
    });
  });

  it('resolvePoolConfig: on Vercel the bound is on, the URL’s parameters are read and reported', () => {
    const config = resolvePoolConfig({ VERCEL: '1', DATABASE_URL: 'postgresql://u:p@db:5432/app?keepalives_idle=20' });
    expect(config.silenceTimeoutMs).toBe(10_000);
    expect(config.silenceTimeoutSource).toBe('default');
    expect(config.tcp).toMatchObject({ keepAlive: true, keepAliveIdleMs: 20_000 });
    expect(resolvePoolConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/app' }).silenceTimeoutMs).toBeNull();
    expect(resolvePoolConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/app' }, { silenceTimeoutMs: 3_000 }).silenceTimeoutMs).toBe(3_000);
  });

  it.each([0, -1, Number.NaN, '5000', 2 ** 31])('silenceTimeoutMs: %s → ConfigError naming the option', (value) => {
    expect(() => resolvePoolConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/app' }, { silenceTimeoutMs: value as number })).toThrow(
      /^silenceTimeoutMs: /,
    );
  });

  it('a bad parameter in DATABASE_URL_READ is refused at the boundary too', () => {
    expect(() =>
      resolvePoolConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/app', DATABASE_URL_READ: 'postgresql://u:p@r:5432/app?keepalives=on' }),
    ).toThrow('DATABASE_URL_READ (keepalives)');
  });
});

describe('silenceCutAfterMs: the cut is half the bound, the rest is the call’s', () => {
  it.each([
    [15_000, 7_500],
    [3_000, 1_500],
    [1_001, 500],
    [1, 1],
  ])('bound %i ms → cut after %i ms', (bound, cut) => {
    expect(silenceCutAfterMs(bound)).toBe(cut);
  });
});
