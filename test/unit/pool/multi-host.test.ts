/**
 * The multi-host layer's assumptions about node-postgres, pinned (no connection is opened): the
 * class picks a host by setting it on a client that has not connected yet, and pg's connect reads
 * it there. If a pg upgrade breaks one of these, this file fails before any app does.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { NoMatchingHostError } from '~/errors/errors.ts';
import { buildClientSettings, pgClientConfig, tlsAwareClient } from '~/pool/client-settings.ts';
import { aimClient, multiHostSetup, sessionMatches } from '~/pool/multi-host.ts';

const pgClientSource = readFileSync(createRequire(import.meta.url).resolve('pg/lib/client.js'), 'utf8');

describe('node-postgres internals the multi-host layer leans on', () => {
  it("pg's connect opens the socket to this.host / this.port, read at connect time", () => {
    expect(pgClientSource).toContain('con.connect(this.port, this.host)');
  });

  it('a pg.Client connects once: a second connect is refused (why hosts are probed on throwaway clients)', () => {
    expect(pgClientSource).toContain('Client has already been connected. You cannot reuse a client.');
  });

  it('aimClient on a client without those fields is an IncompatibleDependencyError (kind dependency), not a TypeError', () => {
    const broken = Object.create(null) as pg.Client;
    let caught: unknown;
    try {
      aimClient(broken, { host: 'h', port: 1 });
    } catch (error) {
      caught = error;
    }
    expect(classifyError(caught)).toMatchObject({ kind: 'dependency', retryable: false });
  });

  it('aimClient sets the host and port on the client and its ConnectionParameters before connect', () => {
    const client = new pg.Client({ connectionString: 'postgresql://u:p@first:1/db' });
    aimClient(client, { host: 'second', port: 2 });
    const params = (client as unknown as { connectionParameters: { host: string; port: number } }).connectionParameters;
    expect([client.host, client.port, params.host, params.port]).toEqual(['second', 2, 'second', 2]);
  });
});

describe('multiHostSetup', () => {
  it('a single-host URL passes through untouched', () => {
    const settings = buildClientSettings('postgresql://u:p@h1:5432/db?application_name=x');
    const setup = multiHostSetup(settings);
    expect(setup.settings).toBe(settings);
    expect(setup.hostList).toBeNull();
    expect(setup.wrap(pg.Client)).toBe(pg.Client);
  });

  it('a multi-host URL gives pg the first host only, and a class that picks', () => {
    const settings = buildClientSettings('postgresql://u:p@h1:1,h2:2/db?target_session_attrs=read-write&application_name=x');
    const setup = multiHostSetup(settings);
    expect(setup.settings.connectionString).toBe('postgresql://u:p@h1:1/db?application_name=x');
    expect(setup.hostList?.hosts).toEqual([
      { host: 'h1', port: 1 },
      { host: 'h2', port: 2 },
    ]);
    const Base = tlsAwareClient(setup.settings, pg.Client);
    const Wrapped = setup.wrap(Base);
    expect(Wrapped).not.toBe(Base);
    // pg can parse what it gets (it throws `Invalid URL` on the multi-host form).
    expect(() => new Wrapped(pgClientConfig(setup.settings))).not.toThrow();
    expect(() => new pg.Client({ connectionString: settings.connectionString })).toThrow(/Invalid URL/);
  });

  it('the host= form with one host and no attribute becomes a plain single-host URL', () => {
    const setup = multiHostSetup(buildClientSettings('postgresql://u:p@/db?host=h9&port=7'));
    expect(setup.settings.connectionString).toBe('postgresql://u:p@h9:7/db');
    expect(setup.hostList).toBeNull();
  });
});

describe('sessionMatches (libpq §34.1.2)', () => {
  const primary = { readOnly: false, inRecovery: false };
  const standby = { readOnly: true, inRecovery: true };
  const fenced = { readOnly: true, inRecovery: false };
  it.each([
    ['any', [true, true, true]],
    ['read-write', [true, false, false]],
    ['read-only', [false, true, true]],
    ['primary', [true, false, true]],
    ['standby', [false, true, false]],
    ['prefer-standby', [false, true, false]],
  ] as const)('%s: primary, standby, fenced primary', (attrs, expected) => {
    expect([primary, standby, fenced].map((s) => sessionMatches(attrs, s))).toEqual(expected);
  });
});

describe('NoMatchingHostError', () => {
  it('is a failover-class connection error, retried in the failover window', () => {
    const error = new NoMatchingHostError('read-write', ['h1:1', 'h2:2'], 'matched');
    expect(classifyError(error)).toEqual({ kind: 'connection', retryable: true, code: null, failover: true, sent: true });
    expect(error.message).toBe('no host in the host list matched target_session_attrs=read-write (tried h1:1, h2:2)');
  });
});
