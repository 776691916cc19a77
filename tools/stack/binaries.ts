/**
 * Finds the PostgreSQL and PgBouncer binaries, installing them with apt-get when we are
 * root on Debian/Ubuntu and they are missing. Anywhere else a missing binary is one clear
 * error naming the install command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface Binaries {
  /** Folder holding initdb and postgres. */
  readonly pgBinDir: string;
  readonly pgbouncer: string;
  /** `[major, minor]` from `pgbouncer --version`, e.g. [1, 24]; [0, 0] when it cannot be read. */
  readonly pgbouncerVersion: readonly [number, number];
}

function pgbouncerVersion(bin: string): readonly [number, number] {
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const match = /PgBouncer (\d+)\.(\d+)/.exec(out);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

/**
 * The signal that shuts PgBouncer down at once, dropping every client: SIGTERM up to 1.22; from 1.23
 * SIGINT and SIGTERM wait for clients and SIGQUIT is the immediate one
 * (https://www.pgbouncer.org/usage.html#signals).
 */
export function immediateShutdownSignal(version: readonly [number, number]): NodeJS.Signals {
  return version[0] > 1 || (version[0] === 1 && version[1] >= 23) ? 'SIGQUIT' : 'SIGTERM';
}

const HOMEBREW_PREFIXES = ['/opt/homebrew', '/usr/local'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Newest first, so `postgresql/16` beats `postgresql/15`. */
function versionedDirs(parent: string, prefix: string, suffix: string): string[] {
  if (!existsSync(parent)) return [];
  return readdirSync(parent)
    .filter((name) => name.startsWith(prefix))
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
    .map((name) => path.join(parent, name, suffix));
}

function pgConfigBinDir(): string | null {
  const pgConfig = onPath('pg_config');
  if (!pgConfig) return null;
  try {
    return execFileSync(pgConfig, ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function findPgBinDir(): string | null {
  const candidates = [
    ...versionedDirs('/usr/lib/postgresql', '', 'bin'),
    pgConfigBinDir(),
    // A PATH entry counts only when initdb and postgres sit side by side in it.
    ...(process.env.PATH ?? '').split(path.delimiter),
    ...HOMEBREW_PREFIXES.flatMap((p) => [...versionedDirs(path.join(p, 'opt'), 'postgresql', 'bin'), path.join(p, 'bin')]),
  ];
  for (const dir of candidates) {
    if (dir && isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'postgres'))) return dir;
  }
  return null;
}

/**
 * PGPOOL_PGBOUNCER_BIN picks another PgBouncer (.ci/run's version matrix runs one built from Debian
 * trixie's source package: tools/stack/build-pgbouncer.sh). A path that is not executable is an error,
 * never a silent fall back to the system's PgBouncer.
 */
function pgbouncerOverride(): string | null {
  const chosen = process.env.PGPOOL_PGBOUNCER_BIN ?? '';
  if (chosen === '') return null;
  if (!isExecutable(chosen)) throw new Error(`local stack: PGPOOL_PGBOUNCER_BIN=${chosen} is not an executable file`);
  return chosen;
}

function findPgbouncer(): string | null {
  const override = pgbouncerOverride();
  if (override !== null) return override;
  const candidates = [
    onPath('pgbouncer'),
    '/usr/sbin/pgbouncer',
    '/usr/bin/pgbouncer',
    ...HOMEBREW_PREFIXES.map((p) => path.join(p, 'bin', 'pgbouncer')),
  ];
  return candidates.find((c): c is string => c !== null && isExecutable(c)) ?? null;
}

function canAptInstall(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/etc/debian_version') && onPath('apt-get') !== null;
}

function aptInstall(packages: string[], log: (line: string) => void): void {
  log(`local stack: installing ${packages.join(' ')} with apt-get (missing on this machine)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...packages],
  ]) {
    const result = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: ${result.stderr.slice(-2000)}`);
  }
}

/** Locates (and on Debian as root, installs) the binaries the local stack needs. */
export function findBinaries(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Binaries {
  let pgBinDir = findPgBinDir();
  let pgbouncer = findPgbouncer();
  const missing = [...(pgBinDir ? [] : ['postgresql']), ...(pgbouncer ? [] : ['pgbouncer'])];
  if (missing.length > 0) {
    if (!canAptInstall()) {
      const hint =
        process.platform === 'darwin'
          ? `brew install ${missing.map((m) => (m === 'postgresql' ? 'postgresql@16' : m)).join(' ')}`
          : `sudo apt-get install -y ${missing.join(' ')}`;
      throw new Error(
        `local stack: ${missing.join(' and ')} not found (looked on PATH, /usr/lib/postgresql/*/bin, pg_config --bindir and Homebrew). Install with: ${hint}`,
      );
    }
    aptInstall(missing, log);
    pgBinDir = findPgBinDir();
    pgbouncer = findPgbouncer();
  }
  if (!pgBinDir || !pgbouncer) throw new Error('local stack: postgresql/pgbouncer still not found after apt-get install');
  return Object.freeze({ pgBinDir, pgbouncer, pgbouncerVersion: pgbouncerVersion(pgbouncer) });
}
