import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  createEndpointAccess,
  describeEndpointAccess,
  endpointTokenUnsetMessage,
  tokensEqual,
} from '../../../src/health/endpoint-access.ts';
import type { HealthReport } from '../../../src/health/health-check.ts';
import { createHealthHandler, createMetricsHandler } from '../../../src/health/http.ts';
import { type ConfigWarning, configWarningCode } from '../../../src/logging/config-warnings.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';

const TOKEN = 'aaaaaaaabbbbbbbbsecret';
const LOCAL = {};
const VERCEL = { VERCEL: '1' };

function report(status: HealthReport['status']): HealthReport {
  return {
    status,
    checks: {
      database: { status: 'healthy', latency: 1 },
      connectionPool: {
        status: 'healthy',
        mode: 'transaction',
        port: 6543,
        provider: 'pgbouncer',
        connections: { active: 0, idle: 0, total: 0, waiting: 0, limit: 3 },
        utilization: 0,
      },
    },
  };
}

const get = (authorization?: string) =>
  new Request('http://localhost/api/x', { headers: authorization === undefined ? {} : { authorization } });

function countingSource(status: HealthReport['status'] = 'healthy') {
  const source = {
    probes: 0,
    getHealth: async () => {
      source.probes++;
      return report(status);
    },
    getMetrics: () => ({ ...createMetrics().snapshot(), pool: { active: 0, idle: 0, total: 0, waiting: 0, limit: 3 }, readPool: null }),
  };
  return source;
}

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['  BEARER   abc  ', 'abc'],
    ['Basic abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
  ])('%j → %j', (header, expected) => {
    expect(bearerToken(header)).toBe(expected);
  });
  it('no header → null', () => expect(bearerToken(null)).toBeNull());
});

describe('tokensEqual', () => {
  it('true only for the same string, whatever the lengths', async () => {
    expect(await tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(await tokensEqual(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(await tokensEqual(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(await tokensEqual(TOKEN, TOKEN.replace('s', 'S'))).toBe(false);
    expect(await tokensEqual('', TOKEN)).toBe(false);
  });
});

describe('createEndpointAccess', () => {
  it('locally without a token: authorized, no warning', async () => {
    const warnings: ConfigWarning[] = [];
    const access = createEndpointAccess({}, { env: LOCAL, onWarning: (w) => warnings.push(w) });
    expect(await access.check(get())).toEqual({ authorized: true, tokenConfigured: false });
    expect(warnings).toEqual([]);
  });

  it('on a serverless platform without a token: refused, one PGPOOL_ENDPOINT_TOKEN_UNSET warning however many requests', async () => {
    const warnings: ConfigWarning[] = [];
    const access = createEndpointAccess({}, { env: VERCEL, onWarning: (w) => warnings.push(w) });
    for (let i = 0; i < 3; i++) expect(await access.check(get())).toEqual({ authorized: false, tokenConfigured: false });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.code).toBe('PGPOOL_ENDPOINT_TOKEN_UNSET');
    expect(warnings[0]?.message).toContain('PGPOOL_ENDPOINT_TOKEN');
    expect(warnings[0]?.message).toContain('vercel');
  });

  it("the manager's resolved config decides the platform once it has one, not the environment", async () => {
    const access = createEndpointAccess(
      { initialized: true, config: { serverless: true, runtime: 'lambda' } },
      { env: LOCAL, onWarning: () => {} },
    );
    expect((await access.check(get())).authorized).toBe(false);
    // Not initialized: `config` is not read (it would open the pools); the environment decides.
    const lazy = {
      initialized: false,
      get config(): { serverless: boolean; runtime: string } {
        throw new Error('must not be read');
      },
    };
    expect((await createEndpointAccess(lazy, { env: LOCAL }).check(get())).authorized).toBe(true);
  });

  it('with PGPOOL_ENDPOINT_TOKEN: the right bearer token only, locally too', async () => {
    for (const env of [LOCAL, VERCEL]) {
      const access = createEndpointAccess({}, { env: { ...env, PGPOOL_ENDPOINT_TOKEN: TOKEN } });
      expect(await access.check(get(`Bearer ${TOKEN}`))).toEqual({ authorized: true, tokenConfigured: true });
      expect((await access.check(get())).authorized).toBe(false);
      expect((await access.check(get(`Bearer ${TOKEN}x`))).authorized).toBe(false);
      expect((await access.check(get(`Basic ${TOKEN}`))).authorized).toBe(false);
    }
  });

  it('the `token` option wins over the variable; null turns the variable off', async () => {
    const env = { PGPOOL_ENDPOINT_TOKEN: TOKEN };
    const other = 'z'.repeat(20);
    expect((await createEndpointAccess({}, { env, token: other }).check(get(`Bearer ${other}`))).authorized).toBe(true);
    expect((await createEndpointAccess({}, { env, token: null }).check(get())).authorized).toBe(true);
  });

  it('a short token is one ConfigError naming the variable', async () => {
    const access = createEndpointAccess({}, { env: { PGPOOL_ENDPOINT_TOKEN: 'short' } });
    await expect(access.check(get())).rejects.toMatchObject({ name: 'ConfigError', variable: 'PGPOOL_ENDPOINT_TOKEN' });
    await expect(createEndpointAccess({}, { token: 'has a space in it ok' }).check(get())).rejects.toMatchObject({ variable: 'token' });
  });

  it('the warning message is coded by the table and names no secret', () => {
    expect(configWarningCode(endpointTokenUnsetMessage('netlify'))).toBe('PGPOOL_ENDPOINT_TOKEN_UNSET');
  });
});

describe('handlers with a token', () => {
  const env = { PGPOOL_ENDPOINT_TOKEN: TOKEN };

  it('metrics: 401 with a Bearer challenge without the token, 200 with it', async () => {
    const handler = createMetricsHandler(countingSource(), { env });
    const refused = await handler(get());
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await refused.text()).not.toContain(TOKEN);
    expect((await handler(get(`Bearer ${TOKEN}`))).status).toBe(200);
  });

  it('health: the status alone without the token, the full report with it', async () => {
    const handler = createHealthHandler(countingSource('degraded'), { env });
    expect(await (await handler(get())).json()).toEqual({ status: 'degraded' });
    expect(await (await handler(get(`Bearer ${TOKEN}`))).json()).toEqual(report('degraded'));
  });

  it('health, unhealthy status alone is still 503', async () => {
    const response = await createHealthHandler(countingSource('unhealthy'), { env })(get());
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unhealthy' });
  });

  it('anonymous health requests share one probe within statusCacheMs; authorized ones probe each time', async () => {
    const source = countingSource();
    const handler = createHealthHandler(source, { env, statusCacheMs: 60_000 });
    await Promise.all(Array.from({ length: 5 }, () => handler(get())));
    for (let i = 0; i < 5; i++) await handler(get());
    expect(source.probes).toBe(1);
    await handler(get(`Bearer ${TOKEN}`));
    await handler(get(`Bearer ${TOKEN}`));
    expect(source.probes).toBe(3);
  });

  it('statusCacheMs 0: every anonymous request waits for a probe of its own (sequentially)', async () => {
    const source = countingSource();
    const handler = createHealthHandler(source, { env, statusCacheMs: 0 });
    for (let i = 0; i < 3; i++) await handler(get());
    expect(source.probes).toBe(3);
  });

  it('a bad statusCacheMs is a ConfigError at creation', () => {
    expect(() => createHealthHandler(countingSource(), { statusCacheMs: -1 })).toThrow(/statusCacheMs/);
  });
});

describe('describeEndpointAccess (the check CLI)', () => {
  const local = { serverless: false, runtime: 'local' };
  const vercel = { serverless: true, runtime: 'vercel' };
  it('token set: needs the bearer token', () => {
    expect(describeEndpointAccess({ PGPOOL_ENDPOINT_TOKEN: TOKEN }, vercel)).toEqual({ ok: true, text: expect.stringContaining('Bearer') });
  });
  it('a short token fails the check, naming the variable and not the token', () => {
    const result = describeEndpointAccess({ PGPOOL_ENDPOINT_TOKEN: 'short-secret' }, local);
    expect(result.ok).toBe(false);
    expect(result.text).toContain('PGPOOL_ENDPOINT_TOKEN');
    expect(result.text).not.toContain('short-secret');
  });
  it('serverless without a token: closed, with the warning code; locally: open', () => {
    expect(describeEndpointAccess({}, vercel).text).toMatch(/not set on vercel.*401.*PGPOOL_ENDPOINT_TOKEN_UNSET/);
    expect(describeEndpointAccess({}, local).text).toMatch(/open to every caller/);
  });
});
