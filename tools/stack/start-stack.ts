/**
 * A throwaway PostgreSQL cluster with a PgBouncer in front of it, for tests, scripts and
 * benchmarks. Everything lives in one temp dir; `stop()` kills both processes and removes it,
 * also on Ctrl-C, on process exit and on a failed start. A system Postgres on 5432 is never
 * touched: we pick free ports and keep our unix sockets in the temp dir.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { findBinaries, immediateShutdownSignal } from './binaries.ts';
import { applyMigrations } from './migrate.ts';
import {
  primarySettingsForStandby,
  STANDBY_DATABASE_ENTRY,
  type StandbyHandle,
  type StandbyOptions,
  type StandbyProcess,
  standbyDatabaseLine,
  startStandby,
} from './standby.ts';
import { generateStackTls, type StackTlsFiles } from './tls.ts';

export interface StackOptions {
  /** Postgres `max_connections`. Defaults to 100. */
  maxConnections?: number;
  /** PgBouncer `default_pool_size` (server connections per user/database pair). Defaults to 20. */
  defaultPoolSize?: number;
  /** PgBouncer `max_client_conn`. Defaults to 5000. */
  maxClientConn?: number;
  /** Port PgBouncer tries first; a free port is used when it is taken. Defaults to 6543. */
  preferredPoolerPort?: number;
  /** Extra `[pgbouncer]` settings, e.g. `{ query_wait_timeout: 5 }`. */
  pgbouncerSettings?: Record<string, string | number>;
  /** Extra `postgres -c` settings. */
  postgresSettings?: Record<string, string | number>;
  /**
   * Write plain-text passwords into PgBouncer's auth_file instead of Postgres' SCRAM verifiers.
   * Plain text makes PgBouncer derive SCRAM keys (PBKDF2, 4096 rounds) on its single thread at
   * every client login (measured by the bench: ~3.6 ms vs ~0.1 ms). Defaults to false.
   */
  plainTextAuthFile?: boolean;
  /** Apply `prisma/migrations`. Defaults to true. */
  migrate?: boolean;
  /** Progress lines. Defaults to silence. */
  log?: (line: string) => void;
  /** Also start a hot standby streaming from the primary (see standby.ts). Defaults to none. */
  standby?: StandbyOptions;
  /**
   * Put PgBouncer behind client TLS with a private CA generated at start (tools/stack/tls.ts), as
   * a managed provider does: `client_tls_sslmode = require`, or `verify-ca` (a client certificate
   * is then required too) with `{ clientCertificate: 'required' }`. The stack's pooler and admin
   * URLs then carry `sslmode=verify-full&sslrootcert=<CA>` (plus the client certificate when
   * required). `{ plainAllowed: true }` uses `client_tls_sslmode = prefer`: TLS offered, plain TCP
   * accepted too (a server that is TLS-capable but not TLS-only). Defaults to false.
   */
  tls?: boolean | { clientCertificate?: 'required'; plainAllowed?: boolean };
}

/** The TLS material of a stack started with `tls`. */
export interface LocalStackTls extends StackTlsFiles {
  /** PgBouncer's `client_tls_sslmode`. */
  readonly clientTlsSslmode: 'require' | 'verify-ca' | 'prefer';
}

export type ShutdownMode = 'fast' | 'immediate';

export interface LocalStack {
  /** `app` user straight to Postgres (session semantics, like port 5432). */
  readonly directUrl: string;
  /** `app` user through PgBouncer in transaction mode (like port 6543). */
  readonly poolerUrl: string;
  /** PgBouncer admin console (`SHOW POOLS`, `PAUSE`, `KILL` …). */
  readonly adminUrl: string;
  /** Postgres superuser, direct: for fault injection (`pg_terminate_backend`) only. */
  readonly superuserUrl: string;
  readonly postgresPort: number;
  readonly poolerPort: number;
  readonly baseDir: string;
  /** The hot standby, when `standby` was given; null otherwise. */
  readonly standby: StandbyHandle | null;
  /** CA, certificates and the PKCS#12 client identity when started with `tls`; null otherwise. */
  readonly tls: LocalStackTls | null;
  /** Pids of the running processes (null while stopped), e.g. to read `/proc/<pid>/smaps_rollup`. */
  pids(): { postgres: number | null; pgbouncer: number | null };
  stopPostgres(mode?: ShutdownMode): Promise<void>;
  startPostgres(): Promise<void>;
  restartPostgres(mode?: ShutdownMode): Promise<void>;
  stopPgbouncer(): Promise<void>;
  startPgbouncer(): Promise<void>;
  restartPgbouncer(): Promise<void>;
  /**
   * Points PgBouncer's `app` database at another Postgres port (a promoted standby) and sends it
   * `RELOAD`: new server connections go there, clients stay connected (tools/stack/switchover.ts).
   */
  retargetPooler(port: number): Promise<void>;
  /** Stops both processes and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const APP_USER = 'app';
const APP_DB = 'app';
const ADMIN_USER = 'pgbouncer_admin';
const READY_TIMEOUT_MS = 30_000;

/** initdb, postgres and pgbouncer refuse to run as root: drop to the `postgres` user then. */
export function runAsIds(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('local stack: running as root needs a `postgres` system user (it comes with the postgresql package)');
  }
}

export async function findFreePort(preferred?: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | null>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(null));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : null));
      });
    });
  if (preferred !== undefined && (await tryListen(preferred)) !== null) return preferred;
  const port = await tryListen(0);
  if (port === null) throw new Error('local stack: no free TCP port on 127.0.0.1');
  return port;
}

function url(user: string, password: string, port: number, database: string, query = ''): string {
  return `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}${query}`;
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls until `SELECT 1` answers, the process dies, or the deadline passes. */
export async function waitUntilReady(connectionString: string, child: ChildProcess, what: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`local stack: ${what} exited during start (code ${child.exitCode ?? child.signalCode}). Log:\n${tail(logFile)}`);
    }
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.end().catch(() => {});
    }
    await sleep(100);
  }
  throw new Error(`local stack: ${what} not ready after ${READY_TIMEOUT_MS} ms (${(lastError as Error)?.message}). Log:\n${tail(logFile)}`);
}

export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    timer.unref();
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// Every live stack, so one set of process handlers can clean all of them up.
const liveStacks = new Set<{ killNow(): void; stop(): Promise<void> }>();
let handlersInstalled = false;

function installProcessHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Last resort on any exit: synchronous kill and rm, since async work cannot run here.
  process.on('exit', () => {
    for (const stack of liveStacks) stack.killNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...liveStacks].map((s) => s.stop())).then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

function publicStandby({ killNow: _, ...handle }: StandbyProcess, poolerUrl: string): StandbyHandle {
  return { ...handle, poolerUrl };
}

/** Starts Postgres + PgBouncer, applies the migrations and returns the URLs and controls. */
export async function startStack(options: StackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const bins = findBinaries(log);
  const ids = runAsIds();
  const spawnIds = ids ?? {};
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'pgpool-stack-'));
  const dataDir = path.join(baseDir, 'pgdata');
  const pgLog = path.join(baseDir, 'postgres.log');
  const bouncerLog = path.join(baseDir, 'pgbouncer.log');
  const bouncerIni = path.join(baseDir, 'pgbouncer.ini');
  const superPassword = randomBytes(12).toString('hex');
  const appPassword = randomBytes(12).toString('hex');
  const adminPassword = randomBytes(12).toString('hex');
  const own = (file: string) => {
    if (ids) chownSync(file, ids.uid, ids.gid);
  };

  let postgres: ChildProcess | null = null;
  let pgbouncer: ChildProcess | null = null;
  let standby: StandbyProcess | null = null;
  let stopped = false;
  let postgresPort = 0;
  /** Where PgBouncer's `app` entry points: the primary, or a promoted standby after a switchover. */
  let poolerTargetPort = 0;
  let poolerPort = 0;
  let tls: LocalStackTls | null = null;
  /** Query string of every URL that goes to PgBouncer: verified TLS when the stack has it. */
  let poolerQuery = '';

  const killNow = () => {
    standby?.killNow();
    postgres?.kill('SIGKILL');
    pgbouncer?.kill('SIGKILL');
    rmSync(baseDir, { recursive: true, force: true });
  };

  const spawnLogged = (cmd: string, args: string[], logFile: string) => {
    const fd = openSync(logFile, 'a');
    try {
      return spawn(cmd, args, { ...spawnIds, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
  };

  const superUrl = () => url('postgres', superPassword, postgresPort, APP_DB);

  async function startPostgres(): Promise<void> {
    const settings: Record<string, string | number> = {
      max_connections: options.maxConnections ?? 100,
      // Throwaway data: durability buys nothing here and costs a lot on a 2-core VM.
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      ...(options.standby ? primarySettingsForStandby() : {}),
      ...options.postgresSettings,
    };
    const args = [
      '-D',
      dataDir,
      '-p',
      String(postgresPort),
      '-h',
      '127.0.0.1',
      '-k',
      baseDir,
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ];
    const child = spawnLogged(path.join(bins.pgBinDir, 'postgres'), args, pgLog);
    postgres = child;
    await waitUntilReady(url('postgres', superPassword, postgresPort, 'postgres'), child, 'postgres', pgLog);
  }

  async function stopPostgres(mode: ShutdownMode = 'fast'): Promise<void> {
    const child = postgres;
    if (!child) return;
    // SIGINT = fast shutdown (roll back, disconnect); SIGQUIT = immediate (crash-like, recovery on start).
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await waitForExit(child, 15_000);
    postgres = null;
  }

  function writeBouncerConfig(): void {
    const settings: Record<string, string | number> = {
      listen_addr: '127.0.0.1',
      listen_port: poolerPort,
      unix_socket_dir: baseDir,
      auth_type: 'scram-sha-256',
      auth_file: path.join(baseDir, 'userlist.txt'),
      admin_users: ADMIN_USER,
      stats_users: ADMIN_USER,
      pool_mode: 'transaction',
      default_pool_size: options.defaultPoolSize ?? 20,
      max_client_conn: options.maxClientConn ?? 5000,
      // node-postgres and Prisma may send these; PgBouncer 1.18 rejects unknown startup params.
      ignore_startup_parameters: 'extra_float_digits,options',
      // The default 15 s pause after a failed server login would stall every restart test.
      server_login_retry: 1,
      pidfile: path.join(baseDir, 'pgbouncer.pid'),
      ...(tls
        ? {
            client_tls_sslmode: tls.clientTlsSslmode,
            client_tls_key_file: tls.serverKeyFile,
            client_tls_cert_file: tls.serverCertFile,
            client_tls_ca_file: tls.caFile,
          }
        : {}),
      ...options.pgbouncerSettings,
    };
    const ini = [
      '[databases]',
      `${APP_DB} = host=127.0.0.1 port=${poolerTargetPort || postgresPort} dbname=${APP_DB}`,
      ...(standby ? [standbyDatabaseLine(standby.port, APP_DB)] : []),
      '',
      '[pgbouncer]',
      ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
      '',
    ].join('\n');
    writeFileSync(bouncerIni, ini);
    own(bouncerIni);
  }

  /** `canMovePort` only on the first start: after that, URLs already handed out name the port. */
  async function startPgbouncer(canMovePort = false): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      writeBouncerConfig();
      const child = spawnLogged(bins.pgbouncer, [bouncerIni], bouncerLog);
      pgbouncer = child;
      try {
        await waitUntilReady(url(APP_USER, appPassword, poolerPort, APP_DB, poolerQuery), child, 'pgbouncer', bouncerLog);
        return;
      } catch (error) {
        // Someone took our port between the probe and the bind: take another one.
        if (canMovePort && attempt < 3 && /Address already in use/.test(tail(bouncerLog, 5))) {
          poolerPort = await findFreePort();
          continue;
        }
        throw error;
      }
    }
  }

  async function stopPgbouncer(): Promise<void> {
    const child = pgbouncer;
    if (!child) return;
    child.kill(immediateShutdownSignal(bins.pgbouncerVersion)); // immediate shutdown
    await waitForExit(child, 10_000);
    pgbouncer = null;
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await stopPgbouncer().catch(() => {});
    await standby?.stop().catch(() => {});
    await stopPostgres('fast').catch(() => {});
    rmSync(baseDir, { recursive: true, force: true });
    liveStacks.delete(entry);
  }

  const entry = { killNow, stop };
  liveStacks.add(entry);
  installProcessHandlers();

  try {
    own(baseDir);
    const pwFile = path.join(baseDir, 'pwfile');
    writeFileSync(pwFile, `${superPassword}\n`);
    own(pwFile);
    log(`local stack: initdb in ${dataDir}`);
    execFileSync(
      path.join(bins.pgBinDir, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        'postgres',
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ],
      { ...spawnIds, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    rmSync(pwFile);

    postgresPort = await findFreePort();
    await startPostgres();
    log(`local stack: postgres on 127.0.0.1:${postgresPort}`);

    const admin = new pg.Client({ connectionString: url('postgres', superPassword, postgresPort, 'postgres') });
    await admin.connect();
    const verifiers = new Map<string, string>();
    try {
      await admin.query(`CREATE ROLE ${APP_USER} LOGIN PASSWORD '${appPassword}'`);
      await admin.query(`CREATE DATABASE ${APP_DB} OWNER ${APP_USER}`);
      // The SCRAM verifiers Postgres stores (what PgBouncer's auth_query would return in production):
      // with them PgBouncer checks a login cheaply and logs in to the server by SCRAM pass-through.
      const { rows } = await admin.query<{ rolname: string; rolpassword: string }>(
        "SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword LIKE 'SCRAM-SHA-256$%'",
      );
      for (const row of rows) verifiers.set(row.rolname, row.rolpassword);
    } finally {
      await admin.end();
    }
    if (options.migrate ?? true) {
      const applied = await applyMigrations(url(APP_USER, appPassword, postgresPort, APP_DB));
      log(`local stack: applied ${applied.length} migration(s)`);
    }

    if (options.standby) {
      standby = await startStandby(
        {
          baseDir,
          pgBinDir: bins.pgBinDir,
          spawnIds,
          primaryPort: postgresPort,
          primarySuperuserUrl: url('postgres', superPassword, postgresPort, 'postgres'),
          appUser: APP_USER,
          appPassword,
          appDatabase: APP_DB,
          replicationPassword: randomBytes(12).toString('hex'),
          findFreePort: () => findFreePort(),
          spawnPostgres: (args, logFile) => spawnLogged(path.join(bins.pgBinDir, 'postgres'), args, logFile),
          waitUntilReady,
          waitForExit,
          url,
          log,
        },
        options.standby,
      );
    }

    // The admin user exists only in PgBouncer, so it keeps a plain-text password (few logins).
    const secret = (user: string, password: string) => (options.plainTextAuthFile ? password : (verifiers.get(user) ?? password));
    const userlist = path.join(baseDir, 'userlist.txt');
    const users = [
      [APP_USER, secret(APP_USER, appPassword)],
      [ADMIN_USER, adminPassword],
      ['postgres', secret('postgres', superPassword)],
    ];
    writeFileSync(userlist, users.map(([u, p]) => `"${u}" "${p}"\n`).join(''));
    own(userlist);
    if (options.tls) {
      const asked = options.tls === true ? {} : options.tls;
      const clientTlsSslmode = asked.clientCertificate === 'required' ? 'verify-ca' : asked.plainAllowed ? 'prefer' : 'require';
      tls = { ...generateStackTls(baseDir, APP_USER, own), clientTlsSslmode };
      // pg's own parser reads these files; verify-full draws no SECURITY WARNING from it.
      const q = (file: string) => encodeURIComponent(file);
      poolerQuery = `?sslmode=verify-full&sslrootcert=${q(tls.caFile)}`;
      if (clientTlsSslmode === 'verify-ca') poolerQuery += `&sslcert=${q(tls.clientCertFile)}&sslkey=${q(tls.clientKeyFile)}`;
      log(`local stack: private CA in ${tls.dir}; pgbouncer client_tls_sslmode=${clientTlsSslmode}`);
    }
    poolerPort = await findFreePort(options.preferredPoolerPort ?? 6543);
    await startPgbouncer(true);
    log(`local stack: pgbouncer (transaction mode) on 127.0.0.1:${poolerPort}`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    directUrl: url(APP_USER, appPassword, postgresPort, APP_DB),
    poolerUrl: url(APP_USER, appPassword, poolerPort, APP_DB, poolerQuery),
    adminUrl: url(ADMIN_USER, adminPassword, poolerPort, 'pgbouncer', poolerQuery),
    superuserUrl: superUrl(),
    postgresPort,
    poolerPort,
    baseDir,
    standby: standby && publicStandby(standby, url(APP_USER, appPassword, poolerPort, STANDBY_DATABASE_ENTRY)),
    tls,
    pids: () => ({ postgres: postgres?.pid ?? null, pgbouncer: pgbouncer?.pid ?? null }),
    stopPostgres,
    startPostgres,
    restartPostgres: async (mode) => {
      await stopPostgres(mode);
      await startPostgres();
    },
    stopPgbouncer,
    startPgbouncer: () => startPgbouncer(),
    restartPgbouncer: async () => {
      await stopPgbouncer();
      await startPgbouncer();
    },
    retargetPooler: async (port) => {
      poolerTargetPort = port;
      writeBouncerConfig();
      const adminUrl = url(ADMIN_USER, adminPassword, poolerPort, 'pgbouncer', poolerQuery);
      const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      admin.on('error', () => {});
      try {
        await admin.connect();
        await admin.query('RELOAD');
      } finally {
        await admin.end().catch(() => {});
      }
    },
    stop,
  };
}
