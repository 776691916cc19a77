/**
 * A hot standby for the local stack: streaming replication from the stack's primary, a
 * deterministic apply delay, and a PgBouncer database entry so reads reach it through the pooler
 * in transaction mode like the primary's.
 *
 * How (PostgreSQL 15 docs, "Log-Shipping Standby Servers" and "pg_basebackup"):
 * - a `REPLICATION` role and the primary at `wal_level = replica` (initdb's pg_hba.conf already
 *   has `host replication all 127.0.0.1/32` under `--auth-host`);
 * - `pg_basebackup -R -X stream -c fast`: a copy of the cluster with `standby.signal` and
 *   `primary_conninfo` written by `-R`, the WAL needed to start streamed alongside (`-X stream`),
 *   and an immediate checkpoint on the primary instead of a spread one (`-c fast`);
 * - `recovery_min_apply_delay`: the standby receives WAL at once but applies each COMMIT that
 *   much later ("the delay applies to commit records"), so lag is a fixed, known quantity in tests.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export interface StandbyOptions {
  /** `recovery_min_apply_delay` in ms: how late the standby applies each commit. Defaults to 0. */
  applyDelayMs?: number;
}

export interface StandbyHandle {
  /** `app` user straight to the standby (hot standby: read-only). */
  readonly directUrl: string;
  /** `app` user through the stack's PgBouncer (transaction mode), database entry `app_replica`. */
  readonly poolerUrl: string;
  readonly port: number;
  readonly dataDir: string;
  pid(): number | null;
  /** Fast shutdown of the standby postgres; the PgBouncer entry stays (clients then get pooler errors). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir; resolves when it accepts connections. */
  start(): Promise<void>;
}

/** The standby before PgBouncer knows it (the stack adds `poolerUrl`), plus a synchronous kill for process exit. */
export type StandbyProcess = Omit<StandbyHandle, 'poolerUrl'> & { killNow(): void };

/** What the stack hands the standby: its primary, its spawn helpers, its log. */
export interface StandbyContext {
  readonly baseDir: string;
  readonly pgBinDir: string;
  /** uid/gid to run postgres as when we are root (initdb and postgres refuse root). */
  readonly spawnIds: { uid?: number; gid?: number };
  readonly primaryPort: number;
  /** Postgres superuser on the primary. */
  readonly primarySuperuserUrl: string;
  readonly appUser: string;
  readonly appPassword: string;
  readonly appDatabase: string;
  readonly replicationPassword: string;
  readonly findFreePort: () => Promise<number>;
  /** Spawns a postgres with stdout/stderr appended to `logFile`. */
  readonly spawnPostgres: (args: string[], logFile: string) => ChildProcess;
  readonly waitUntilReady: (connectionString: string, child: ChildProcess, what: string, logFile: string) => Promise<void>;
  readonly waitForExit: (child: ChildProcess, timeoutMs: number) => Promise<void>;
  readonly url: (user: string, password: string, port: number, database: string) => string;
  readonly log: (line: string) => void;
}

/** The PgBouncer `[databases]` name of the standby. */
export const STANDBY_DATABASE_ENTRY = 'app_replica';
const REPLICATION_USER = 'replicator';

function validate(options: StandbyOptions): number {
  const delay = options.applyDelayMs ?? 0;
  if (!(Number.isInteger(delay) && delay >= 0))
    throw new TypeError(`startStack: standby.applyDelayMs must be an integer ≥ 0, got ${delay}`);
  return delay;
}

/** Settings the primary needs before it starts (merged into its `-c` settings). */
export function primarySettingsForStandby(): Record<string, string | number> {
  return { wal_level: 'replica', max_wal_senders: 5 };
}

/** Creates the replication role, clones the primary and starts the standby. The stack's `stop()` calls the handle's `stop()`. */
export async function startStandby(ctx: StandbyContext, options: StandbyOptions): Promise<StandbyProcess> {
  const applyDelayMs = validate(options);
  const dataDir = path.join(ctx.baseDir, 'standby-pgdata');
  const logFile = path.join(ctx.baseDir, 'standby.log');

  const admin = new pg.Client({ connectionString: ctx.primarySuperuserUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${REPLICATION_USER} REPLICATION LOGIN PASSWORD '${ctx.replicationPassword}'`);
  } finally {
    await admin.end();
  }

  ctx.log(`local stack: pg_basebackup of the primary into ${dataDir}`);
  // The password travels in the environment, not argv (visible in ps); `-R` writes it into
  // primary_conninfo inside the (throwaway, 0700) data dir, which is where a standby keeps it.
  execFileSync(
    path.join(ctx.pgBinDir, 'pg_basebackup'),
    [
      '-D',
      dataDir,
      '-h',
      '127.0.0.1',
      '-p',
      String(ctx.primaryPort),
      '-U',
      REPLICATION_USER,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ],
    { ...ctx.spawnIds, env: { ...process.env, PGPASSWORD: ctx.replicationPassword }, stdio: ['ignore', 'ignore', 'pipe'] },
  );

  const port = await ctx.findFreePort();
  let child: ChildProcess | null = null;
  const standbyUrl = ctx.url(ctx.appUser, ctx.appPassword, port, ctx.appDatabase);

  async function start(): Promise<void> {
    if (child) return;
    const settings: Record<string, string | number> = {
      hot_standby: 'on',
      recovery_min_apply_delay: `${applyDelayMs}ms`,
      // Throwaway data, as on the primary.
      fsync: 'off',
      full_page_writes: 'off',
    };
    const args = [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      ctx.baseDir,
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ];
    const spawned = ctx.spawnPostgres(args, logFile);
    child = spawned;
    await ctx.waitUntilReady(standbyUrl, spawned, 'standby postgres', logFile);
  }

  async function stop(): Promise<void> {
    const running = child;
    if (!running) return;
    running.kill('SIGINT'); // fast shutdown
    await ctx.waitForExit(running, 15_000);
    child = null;
  }

  try {
    await start();
  } catch (error) {
    await stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  ctx.log(`local stack: hot standby on 127.0.0.1:${port} (recovery_min_apply_delay ${applyDelayMs} ms)`);

  return {
    directUrl: standbyUrl,
    port,
    dataDir,
    pid: () => child?.pid ?? null,
    stop,
    start,
    killNow: () => child?.kill('SIGKILL'),
  };
}

/** The `[databases]` line for the standby. */
export function standbyDatabaseLine(port: number, database: string): string {
  return `${STANDBY_DATABASE_ENTRY} = host=127.0.0.1 port=${port} dbname=${database}`;
}
