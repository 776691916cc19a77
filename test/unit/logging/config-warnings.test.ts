import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvePoolConfig } from '~/config/resolve-pool-config.ts';
import { configWarningCode, emitConfigWarnings, WARNING_TYPE } from '~/logging/config-warnings.ts';

const seen: Error[] = [];
const onWarning = (warning: Error) => seen.push(warning);
beforeEach(() => {
  seen.length = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('configuration warnings', () => {
  it.each<[string, Record<string, string>, string]>([
    [
      'budget overrun',
      { DATABASE_URL: 'postgresql://u:pw@db.example.com:5432/d?connection_limit=20', INSTANCE_COUNT: '10', MAX_POOL_SIZE: '100' },
      'PGPOOL_BUDGET_EXCEEDED',
    ],
    [
      'session mode through a pooler',
      { DATABASE_URL: 'postgresql://u:pw@db.example.com:6543/d', USE_TRANSACTION_MODE: 'false' },
      'PGPOOL_SESSION_THROUGH_POOLER',
    ],
    [
      'Supavisor user without project ref',
      { DATABASE_URL: 'postgresql://postgres:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres', USE_TRANSACTION_MODE: 'true' },
      'PGPOOL_SUPAVISOR_USER',
    ],
    [
      'transaction mode on a database with no pooler in between',
      { DATABASE_URL: 'postgresql://u:pw@db-1.abcdefghijkl.us-east-1.rds.amazonaws.com:5432/d', USE_TRANSACTION_MODE: 'true' },
      'PGPOOL_NO_POOLER',
    ],
    [
      'options through PgBouncer',
      { DATABASE_URL: 'postgresql://u:pw@db.example.com:6432/d?options=-c%20search_path%3Dapp', USE_TRANSACTION_MODE: 'true' },
      'PGPOOL_STARTUP_OPTIONS',
    ],
    [
      'multi-host URL at a pooler',
      {
        DATABASE_URL: 'postgresql://u:pw@db1.example.com:5432,db2.example.com:5432/d?target_session_attrs=read-write',
        USE_TRANSACTION_MODE: 'true',
      },
      'PGPOOL_MULTI_HOST_POOLER',
    ],
  ])('%s: a warning of its own code', (_name, env, code) => {
    const config = resolvePoolConfig(env);
    expect(config.warnings.map(configWarningCode)).toContain(code);
  });

  it('unverified TLS has its code', () => {
    const config = resolvePoolConfig({ DATABASE_URL: 'postgresql://u:pw@db.example.com:5432/d?sslmode=require' });
    expect(config.tls.verifyHint).not.toBeNull();
    expect(configWarningCode(config.tls.verifyHint as string)).toBe('PGPOOL_TLS_UNVERIFIED');
  });

  it('each is emitted once per process through process.emitWarning, with its type and code, and no password', async () => {
    const config = resolvePoolConfig({
      DATABASE_URL: 'postgresql://u:Sup3rS3cret@db-1.abcdefghijkl.us-east-1.rds.amazonaws.com/d',
      USE_TRANSACTION_MODE: 'true',
    });
    emitConfigWarnings([...config.warnings, null]);
    emitConfigWarnings(config.warnings);
    const handed: string[] = [];
    emitConfigWarnings(config.warnings, (w) => handed.push(w.code)); // an onWarning of the app's own instead
    expect(handed).toEqual(['PGPOOL_NO_POOLER']);
    await flush();
    expect(seen).toHaveLength(config.warnings.length);
    expect(seen[0]).toMatchObject({ name: WARNING_TYPE, code: 'PGPOOL_NO_POOLER' });
    expect(seen.map((w) => w.message).join('\n')).not.toContain('Sup3rS3cret');
  });
});
