/**
 * Read replicas on a real hot standby (tools/stack/standby.ts: pg_basebackup + streaming
 * replication, `recovery_min_apply_delay` 1.5 s, reads through PgBouncer in transaction mode).
 * This file starts its own primary + standby stack; the shared stack is not used.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { createConnectionPoolManager } from '~/manager/connection-pool-manager.ts';
import { findFreePort, type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { sql, type TestManager } from '../../support/managers.ts';
import { processesMentioning } from '../../support/processes.ts';

const APPLY_DELAY_MS = 1500;
const POOL_TIMEOUT_MS = 5000;

let stack: LocalStack;
let standby: NonNullable<LocalStack['standby']>;
const managers: TestManager[] = [];

beforeAll(async () => {
  stack = await startStack({ standby: { applyDelayMs: APPLY_DELAY_MS } });
  if (!stack.standby) throw new Error('the stack started without its standby');
  standby = stack.standby;
  await sql(stack.directUrl, 'CREATE TABLE replica_probe (id text PRIMARY KEY, instance text NOT NULL)');
  // The table itself must have reached the standby before any test reads it there.
  await waitFor(async () => (await sql(standby.directUrl, "SELECT to_regclass('replica_probe') AS t"))[0]?.t !== null, 10_000);
}, 120_000);

afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await stack?.stop();
});

function manager(
  readUrl = standby.poolerUrl,
  { silenceTimeoutMs, ...options }: { maxReplicaLagMs?: number; silenceTimeoutMs?: number } = {},
): TestManager {
  const created = createConnectionPoolManager({
    createClient: (adapter) => new PrismaClient({ adapter }),
    env: { DATABASE_URL: stack.poolerUrl, DATABASE_URL_READ: readUrl, USE_TRANSACTION_MODE: 'true' },
    pool: { poolTimeoutMs: POOL_TIMEOUT_MS, ...(silenceTimeoutMs === undefined ? {} : { silenceTimeoutMs }) },
    replicaPollIntervalMs: 200,
    ...options,
  });
  managers.push(created);
  return created;
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type RawTx = { $queryRaw: <T>(query: TemplateStringsArray, ...values: unknown[]) => Promise<T> };

/** Inside a read: whether the row is visible and whether this server is the standby. */
async function probe(tx: RawTx, id: string): Promise<{ found: boolean; onStandby: boolean }> {
  const [row] = await tx.$queryRaw<[{ found: boolean; standby: boolean }]>`
    SELECT EXISTS (SELECT 1 FROM replica_probe WHERE id = ${id}) AS found, pg_is_in_recovery() AS standby`;
  return { found: row.found, onStandby: row.standby };
}

async function insert(m: TestManager, instance: string): Promise<string> {
  const id = randomUUID();
  await m.writeWithPooling(
    (tx) => (tx as unknown as { $executeRaw: RawTx['$queryRaw'] }).$executeRaw`
    INSERT INTO replica_probe (id, instance) VALUES (${id}, ${instance})`,
  );
  return id;
}

describe('the standby stack', () => {
  it('really lags: a row written on the primary is missing on the standby right after, present after the delay', async () => {
    const id = randomUUID();
    await sql(stack.directUrl, 'INSERT INTO replica_probe (id, instance) VALUES ($1, $2)', [id, 'raw']);
    const [early] = await sql<{ n: number }>(standby.poolerUrl, 'SELECT count(*)::int AS n FROM replica_probe WHERE id = $1', [id]);
    expect(early?.n).toBe(0);
    await waitFor(
      async () =>
        (await sql<{ n: number }>(standby.directUrl, 'SELECT count(*)::int AS n FROM replica_probe WHERE id = $1', [id]))[0]?.n === 1,
      10_000,
    );
  });
});

describe('the commit position (src/routing/commit-position.ts)', () => {
  it('pg_current_wal_lsn() can be behind a commit that already returned (synchronous_commit off); the insert position is not', async () => {
    // Why the router asks for pg_current_wal_insert_lsn(): right after COMMIT returned, the write
    // position has not reached the commit record when COMMIT did not wait for the WAL write.
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: stack.directUrl });
    await client.connect();
    let behind = 0;
    try {
      await client.query('SET synchronous_commit = off');
      for (let i = 0; i < 5; i++) {
        await client.query('INSERT INTO replica_probe (id, instance) VALUES ($1, $2)', [randomUUID(), 'wal']);
        const { rows } = await client.query<{ behind: boolean }>('SELECT pg_current_wal_lsn() < pg_current_wal_insert_lsn() AS behind');
        if (rows[0]?.behind) behind++;
      }
    } finally {
      await client.end();
    }
    expect(behind).toBeGreaterThan(0);
  });
});

describe('routing', () => {
  it('reads land on the replica when nothing was written', async () => {
    const m = manager();
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none')));
    expect(results.every((r) => r.onStandby)).toBe(true);
    expect(m.getMetrics().readsByTarget).toEqual({ replica: 10, 'primary-fallback': 0, 'primary-consistency': 0 });
  });

  it('read-your-writes: 20 of 20 reads right after a write see it, then reads return to the replica', async () => {
    const m = manager();
    let stale = 0;
    for (let i = 0; i < 20; i++) {
      const id = await insert(m, 'ryw');
      const seen = await m.readWithPooling((tx) => probe(tx as unknown as RawTx, id));
      if (!seen.found) stale++;
    }
    expect(stale).toBe(0);
    const reads = m.getMetrics().readsByTarget;
    // They went to the primary because the standby had not replayed the writes (not because it was down).
    expect(reads['primary-consistency']).toBe(20);
    expect(reads['primary-fallback']).toBe(0);

    // Once the standby has replayed the last write, the same instance reads there again, and sees it.
    const last = await insert(m, 'ryw-last');
    await waitFor(async () => {
      const seen = await m.readWithPooling((tx) => probe(tx as unknown as RawTx, last));
      expect(seen.found).toBe(true);
      return seen.onStandby;
    }, 10_000);
    expect(m.getMetrics().readsByTarget.replica).toBeGreaterThan(0);
  });

  it('the same reads without routing (DATABASE_URL_READ straight to the standby, no write known) miss the write', async () => {
    // The control for the test above: what an app gets when the reader does not know of the write.
    const writer = manager();
    const reader = manager();
    let stale = 0;
    for (let i = 0; i < 5; i++) {
      const id = await insert(writer, 'control');
      const seen = await reader.readWithPooling((tx) => probe(tx as unknown as RawTx, id));
      if (!seen.found) stale++;
    }
    expect(stale).toBe(5);
  });

  it('the consistency token carries read-your-writes across two managers (instances)', async () => {
    const writer = manager();
    const reader = manager();
    let stale = 0;
    for (let i = 0; i < 10; i++) {
      const id = await insert(writer, 'token');
      const token = await writer.consistencyToken();
      expect(token).toMatch(/^v2\.1\.[0-9a-f]+\.[0-9a-f]+$/);
      const seen = await reader.readWithPooling((tx) => probe(tx as unknown as RawTx, id), { after: token });
      if (!seen.found) stale++;
    }
    expect(stale).toBe(0);
    expect(reader.getMetrics().readsByTarget['primary-consistency']).toBe(10);

    // Once the standby has replayed past the token, a read with it goes to the replica.
    const id = await insert(writer, 'token-late');
    const token = await writer.consistencyToken();
    await waitFor(async () => {
      const seen = await reader.readWithPooling((tx) => probe(tx as unknown as RawTx, id), { after: token });
      expect(seen.found).toBe(true);
      return seen.onStandby;
    }, 10_000);
  });

  it('a token of another WAL timeline (made before a promotion) reads from the primary at once; a v1 token of the same position may use the replica', async () => {
    const m = manager();
    const id = await insert(m, 'timeline');
    const token = await m.consistencyToken();
    const [, timeline = '', high = '', low = ''] = token.split('.');
    expect(timeline).toBe('1');
    // Caught up: a read that needs this instance's write reaches the standby.
    await waitFor(async () => (await m.readWithPooling((tx) => probe(tx as unknown as RawTx, id))).onStandby, 10_000);
    m.resetMetrics();
    const otherTimeline = `v2.${(Number.parseInt(timeline, 16) + 1).toString(16)}.${high}.${low}`;
    const onOther = await m.readWithPooling((tx) => probe(tx as unknown as RawTx, id), { after: otherTimeline });
    expect(onOther).toEqual({ found: true, onStandby: false });
    expect(m.getMetrics().readsByTarget).toMatchObject({ replica: 0, 'primary-consistency': 1 });
    // The same position as an old v1 token (no timeline): compared by position, the standby has it.
    const viaV1 = await m.readWithPooling((tx) => probe(tx as unknown as RawTx, id), { after: `v1.${high}.${low}` });
    expect(viaV1).toEqual({ found: true, onStandby: true });
  });

  it('a garbage token is a ConfigError naming `after`, before anything runs', async () => {
    const m = manager();
    let ran = false;
    const error = await m
      .readWithPooling(
        async () => {
          ran = true;
        },
        { after: 'not-a-token' },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('after');
    expect(ran).toBe(false);
  });
});

describe('lag bound', () => {
  it('a replica lagging past maxReplicaLagMs is skipped (primary-fallback) and used again once it caught up', async () => {
    const writer = manager();
    // Another instance with a tight bound: it learns of the new WAL from the standby's receive position.
    const reader = manager(standby.poolerUrl, { maxReplicaLagMs: 300 });
    expect((await reader.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'))).onStandby).toBe(true);
    await insert(writer, 'lag');
    // Within the 1.5 s apply delay the reader sees the standby fall more than 300 ms behind.
    let lagMs: number | null | undefined = null;
    await waitFor(() => {
      const replica = reader.getMetrics().replicas[0];
      lagMs = replica?.lagMs;
      return replica?.state === 'lagging';
    }, 1400);
    expect(lagMs).toBeGreaterThan(300);
    const during = await reader.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'));
    expect(during.onStandby).toBe(false);
    expect(reader.getMetrics().readsByTarget['primary-fallback']).toBeGreaterThanOrEqual(1);
    // Replayed: back to the standby by itself.
    await waitFor(async () => (await reader.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'))).onStandby, 10_000);
    expect(reader.getMetrics().replicas[0]?.state).toBe('up');
  });
});

describe('several replicas, health and failure', () => {
  it('skips a replica that is down, uses the other one, and health shows both', async () => {
    const closedPort = await findFreePort();
    const dead = standby.poolerUrl.replace(/:(\d+)\/app_replica$/, `:${closedPort}/app_replica`);
    const m = manager(`${dead},${standby.poolerUrl}`);
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none')));
    expect(results.every((r) => r.onStandby)).toBe(true);

    const health = await m.getHealth();
    expect(health.status).toBe('degraded');
    const replicas = health.checks.replicas;
    expect(replicas?.status).toBe('degraded');
    expect(replicas?.available).toBe(1);
    expect(replicas?.endpoints.map((e) => e.state)).toEqual(['down', 'up']);
    expect(replicas?.endpoints[0]?.error).toBe('connection');
    expect(replicas?.endpoints[1]?.lagMs).toBeGreaterThanOrEqual(0);
    expect(replicas?.endpoints[1]?.replayLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(JSON.stringify(health)).not.toContain(new URL(stack.poolerUrl).password);
  });

  it('two replicas are two pools: each with its own name and address in getMetrics() and the Prometheus text', async () => {
    // The same standby reached two ways (through its PgBouncer, and directly): two endpoints, two pools.
    const m = manager(`${standby.poolerUrl},${standby.directUrl}`);
    for (let i = 0; i < 6; i++) expect((await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'))).onStandby).toBe(true);
    const metrics = m.getMetrics();
    const names = metrics.replicaPools.map((p) => p.name);
    expect(names).toHaveLength(2);
    expect(new Set([metrics.poolNames?.primary, ...names]).size).toBe(3);
    expect(metrics.replicaPools.map((p) => p.port)).toEqual([new URL(standby.poolerUrl).port, new URL(standby.directUrl).port].map(Number));
    // Reads alternate between the two: each pool opened its own connection.
    expect(metrics.replicaPools.every((p) => p.stats.total >= 1)).toBe(true);
    expect(metrics.readPool?.total).toBe(metrics.replicaPools.reduce((n, p) => n + p.stats.total, 0));
    const { renderPrometheus } = await import('~/metrics/prometheus.ts');
    const text = renderPrometheus(metrics, {
      primary: metrics.pool,
      read: metrics.readPool,
      replicas: metrics.replicaPools,
      names: metrics.poolNames,
    });
    for (const name of names) expect(text).toContain(`db_client_connection_max{db_client_connection_pool_name="${name}"} 3`);
  });

  it('a busy replica (its pool full) sends the read to the primary without marking the replica down', async () => {
    const busyUrl = `${standby.poolerUrl}${standby.poolerUrl.includes('?') ? '&' : '?'}connection_limit=1`;
    // The hold below is a quiet query longer than half the default silence bound (min(15 s, pool
    // timeout)), which would cut it: this test is about a busy pool, so its bound is larger.
    const m = manager(busyUrl, { silenceTimeoutMs: 20_000 });
    expect((await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'))).onStandby).toBe(true);
    // Hold the replica pool's one connection longer than a read may wait to start there.
    const holding = m.readWithPooling((tx) => tx.$queryRaw`SELECT pg_sleep(4)::text`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seen = await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'));
    await holding;
    expect(seen.onStandby).toBe(false);
    const metrics = m.getMetrics();
    expect(metrics.readsByTarget['primary-fallback']).toBe(1);
    expect(metrics.failedQueries).toBe(0);
    expect(metrics.replicas[0]?.state).toBe('up');
    // And the next read is the replica's again.
    expect((await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'))).onStandby).toBe(true);
  });

  it('replica stopped: reads keep working within the pool timeout (fallback counted); restarted: reads return to it', async () => {
    const m = manager();
    expect((await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'))).onStandby).toBe(true);

    await standby.stop();
    try {
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const seen = await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'));
        expect(seen.onStandby).toBe(false);
        expect(performance.now() - started).toBeLessThan(POOL_TIMEOUT_MS);
      }
      const metrics = m.getMetrics();
      expect(metrics.readsByTarget['primary-fallback']).toBeGreaterThanOrEqual(10);
      expect(metrics.failedQueries).toBe(0);
      const health = await m.getHealth();
      expect(health.checks.replicas?.endpoints[0]?.state).toBe('down');
      expect(health.checks.database.status).toBe('healthy');
    } finally {
      await standby.start();
    }

    await waitFor(async () => (await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'))).onStandby, 15_000);
    expect((await m.getHealth()).checks.replicas?.endpoints[0]?.state).toBe('up');
  });
});

describe('plain calls through manager.prisma', () => {
  const onStandby = async (client: { $queryRaw: RawTx['$queryRaw'] }) =>
    ((await client.$queryRaw<[{ standby: boolean }]>`SELECT pg_is_in_recovery() AS standby`) as [{ standby: boolean }])[0].standby;

  it('read-your-writes: 20 of 20 plain reads right after a plain write see it; reads go to the replica otherwise', async () => {
    const m = manager();
    const prisma = m.prisma;
    expect(await onStandby(prisma)).toBe(true); // nothing written yet: the replica
    for (let i = 0; i < 20; i++) {
      const email = `ryw-${randomUUID()}@example.com`;
      await prisma.user.create({ data: { email } });
      expect(await prisma.user.findUnique({ where: { email } })).not.toBeNull();
    }
    const metrics = m.getMetrics();
    expect(metrics.readsByTarget['primary-consistency']).toBeGreaterThanOrEqual(20);
    expect(metrics.byKind['plain-read']).toMatchObject({ totalQueries: 21, failedQueries: 0 });
    expect(metrics.byKind['plain-write']).toMatchObject({ totalQueries: 20, failedQueries: 0 });
    // Once the standby has replayed the writes, plain reads return to it.
    await waitFor(async () => onStandby(prisma), 15_000);
  });

  it('$primary() and $replica() land where they say, even right after a write', async () => {
    const m = manager();
    await m.prisma.user.create({ data: { email: `pin-${randomUUID()}@example.com` } });
    expect(await onStandby(m.prisma.$replica())).toBe(true);
    expect(await onStandby(m.prisma.$primary())).toBe(false);
    expect(await onStandby(m.prisma)).toBe(false); // auto: this instance's write is not on the replica yet
  });

  it('a $queryRaw that writes, sent to the replica as a read, runs once on the primary', async () => {
    const m = manager();
    const id = randomUUID();
    const rows = await m.prisma.$replica().$queryRaw<
      { id: string }[]
    >`INSERT INTO replica_probe (id, instance) VALUES (${id}, 'raw') RETURNING id`;
    expect(rows).toEqual([{ id }]);
    const [count] = await sql<{ n: number }>(stack.directUrl, 'SELECT count(*)::int AS n FROM replica_probe WHERE id = $1', [id]);
    expect(count?.n).toBe(1);
  });
});

describe('metrics', () => {
  it('counts reads by target in getMetrics() and the Prometheus text', async () => {
    const { renderPrometheus } = await import('~/metrics/prometheus.ts');
    const m = manager();
    await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'));
    await insert(m, 'metrics');
    await m.readWithPooling((tx) => probe(tx as unknown as RawTx, 'none'));
    const metrics = m.getMetrics();
    expect(metrics.readsByTarget).toEqual({ replica: 1, 'primary-fallback': 0, 'primary-consistency': 1 });
    const text = renderPrometheus(metrics, { primary: metrics.pool, read: metrics.readPool });
    expect(text).toContain('pgpool_reads_total{target="replica"} 1');
    expect(text).toContain('pgpool_reads_total{target="primary-consistency"} 1');
    expect(text).toContain('pgpool_reads_total{target="primary-fallback"} 0');
  });
});

describe('the standby stack stops cleanly', () => {
  it('no postgres (primary or standby) nor pgbouncer process is left, and the temp dir is gone', async () => {
    expect(processesMentioning(stack.baseDir).length).toBeGreaterThanOrEqual(3);
    expect(standby.pid()).not.toBeNull();
    await Promise.all(managers.splice(0).map((m) => m.disconnect()));
    await stack.stop();
    expect(processesMentioning(stack.baseDir)).toEqual([]);
    expect(existsSync(stack.baseDir)).toBe(false);
    expect(standby.pid()).toBeNull();
  });
});
