/**
 * N more PgBouncers in front of one Postgres (a pooler fleet: Kubernetes replicas, one per zone),
 * for tests and scripts that list several poolers in one URL. Each has its own port, ini, log and
 * process, so one can be killed (SIGKILL), frozen (SIGSTOP / SIGCONT) or restarted on its port while
 * the others serve. Transaction mode, as the stack's own PgBouncer (tools/stack/start-stack.ts).
 *
 * The auth_file holds the app user's password in plain text (PgBouncer derives the SCRAM keys from
 * it), so only the app URL is needed, not the stack's files. `stats_users` is the app user: each
 * pooler's `SHOW STATS` tells whether it served. Everything lives in one temp dir; `stop()` kills
 * every process (SIGCONT first: a stopped process does not act on SIGTERM) and removes it.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { chownSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findBinaries } from './binaries.ts';
import { findFreePort, runAsIds, waitForExit, waitUntilReady } from './start-stack.ts';

export interface PoolerFleetOptions {
  /** The app's URL to Postgres itself (user, password, database, host and port of the server). */
  readonly directUrl: string;
  /** How many PgBouncers. */
  readonly count: number;
  /**
   * One port for every pooler, each on its own loopback address (127.x.y.1, 127.x.y.2, …, x and y
   * random), as a fleet of hosts serving the same port: a URL on 6543 then reads as a PgBouncer fleet
   * without the unknown-port warning. Defaults to none: free ports on 127.0.0.1.
   */
  readonly port?: number;
  /** Extra `[pgbouncer]` settings for each. */
  readonly settings?: Record<string, string | number>;
  readonly log?: (line: string) => void;
}

export interface PoolerFleet {
  readonly ports: readonly number[];
  readonly hosts: readonly string[];
  /** One URL listing every pooler (`host1:port1,host2:port2,…`), `query` appended (no leading `?`). */
  url(query?: string): string;
  /** The URL of pooler `i` alone. */
  urlOf(i: number, query?: string): string;
  pid(i: number): number | null;
  /** Sends `signal` to pooler `i` (SIGKILL: it is gone until `start(i)`; SIGSTOP: frozen until SIGCONT). */
  signal(i: number, signal: NodeJS.Signals): void;
  /** (Re)starts pooler `i` on its port; resolves once it answers. */
  start(i: number): Promise<void>;
  /** Stops every pooler and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startPoolerFleet(options: PoolerFleetOptions): Promise<PoolerFleet> {
  const log = options.log ?? (() => {});
  const bins = findBinaries(log);
  const ids = runAsIds();
  const direct = new URL(options.directUrl);
  const user = decodeURIComponent(direct.username);
  const password = decodeURIComponent(direct.password);
  const database = direct.pathname.slice(1);
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'pgpool-fleet-'));
  const own = (file: string) => {
    if (ids) chownSync(file, ids.uid, ids.gid);
  };
  own(baseDir);
  const authFile = path.join(baseDir, 'userlist.txt');
  writeFileSync(authFile, `"${user}" "${password.replaceAll('"', '""')}"\n`);
  own(authFile);

  const ports: number[] = [];
  const hosts: string[] = [];
  if (options.port !== undefined) {
    const net = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    for (let i = 0; i < options.count; i++) {
      hosts.push(`${net}.${i + 1}`);
      ports.push(options.port);
    }
  } else {
    for (let i = 0; i < options.count; i++) {
      let port = await findFreePort();
      while (ports.includes(port)) port = await findFreePort();
      ports.push(port);
      hosts.push('127.0.0.1');
    }
  }
  const children: (ChildProcess | null)[] = ports.map(() => null);
  const address = (i: number) => `${hosts[i]}:${ports[i]}`;
  const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  const urlOf = (i: number, query = '') => `postgresql://${credentials}@${address(i)}/${database}${query ? `?${query}` : ''}`;

  const iniOf = (i: number): string => {
    const dir = path.join(baseDir, `pgbouncer-${i}`);
    const settings: Record<string, string | number> = {
      listen_addr: hosts[i] as string,
      listen_port: ports[i] as number,
      unix_socket_dir: '',
      auth_type: 'scram-sha-256',
      auth_file: authFile,
      stats_users: user,
      pool_mode: 'transaction',
      default_pool_size: 20,
      max_client_conn: 1000,
      ignore_startup_parameters: 'extra_float_digits,options',
      server_login_retry: 1,
      pidfile: `${dir}.pid`,
      ...options.settings,
    };
    const ini = [
      '[databases]',
      `${database} = host=${direct.hostname} port=${direct.port || 5432} dbname=${database}`,
      '',
      '[pgbouncer]',
      ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
      '',
    ].join('\n');
    const file = `${dir}.ini`;
    writeFileSync(file, ini);
    own(file);
    return file;
  };

  const start = async (i: number): Promise<void> => {
    if (children[i]) throw new Error(`pooler fleet: pooler ${i} is running`);
    const logFile = path.join(baseDir, `pgbouncer-${i}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(bins.pgbouncer, [iniOf(i)], { ...(ids ?? {}), stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    children[i] = child;
    child.once('exit', () => {
      if (children[i] === child) children[i] = null;
    });
    await waitUntilReady(urlOf(i), child, `pgbouncer ${i}`, logFile);
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(
        children.map(async (child) => {
          if (!child) return;
          child.kill('SIGCONT');
          child.kill('SIGTERM');
          await waitForExit(child, 5_000);
        }),
      );
      rmSync(baseDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    for (let i = 0; i < options.count; i++) await start(i);
  } catch (error) {
    await stop();
    throw error;
  }
  log(`pooler fleet: ${options.count} pgbouncers on ${ports.map((_, i) => address(i)).join(', ')}`);
  return {
    ports,
    hosts,
    url: (query = '') => `postgresql://${credentials}@${ports.map((_, i) => address(i)).join(',')}/${database}${query ? `?${query}` : ''}`,
    urlOf,
    pid: (i) => children[i]?.pid ?? null,
    signal(i, signal) {
      const child = children[i];
      if (!child) throw new Error(`pooler fleet: pooler ${i} is not running`);
      child.kill(signal);
    },
    start,
    stop,
  };
}
