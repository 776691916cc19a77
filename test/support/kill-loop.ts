/**
 * PgBouncer `KILL` (then `RESUME`) of a database every `everyMs` until stopped: every client connection
 * drops at once. Each KILL waits until no client is mid-login (killWhenNoLogins): PgBouncer 1.24.1
 * segfaulted under this suite's KILLs (pgbouncer/pgbouncer#1401), and a client mid-login is the suspect.
 */
import { killWhenNoLogins, resume } from '../../tools/stack/faults/pgbouncer-admin.ts';

export interface KillLoop {
  /** KILLs that succeeded so far. */
  readonly kills: number;
  /** Admin commands (KILL or RESUME) that failed so far, e.g. the console was busy. */
  readonly adminErrors: number;
  /** Stops the loop, waits for a KILL in progress, and leaves the database resumed. */
  stop(): Promise<void>;
}

export function startKillLoop(adminUrl: string, database: string, everyMs = 300): KillLoop {
  let stopped = false;
  let kills = 0;
  let adminErrors = 0;
  // RESUME after every KILL attempt, not only a successful one: a KILL whose answer was lost (the
  // console busy, a timeout) may still have run, and PgBouncer 1.18 leaves a KILLed database
  // paused. Left paused, every later login waits for a server connection that never comes, and
  // the next KILL is refused: the run would measure a dead pooler, not KILLs. "Not paused" is fine.
  const resumeQuietly = () => resume(adminUrl, database).catch(() => {});
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      if (stopped) break;
      await killWhenNoLogins(adminUrl, database).then(
        () => kills++,
        async () => {
          adminErrors++;
          await resumeQuietly();
        },
      );
    }
    await resumeQuietly();
  })();
  return {
    get kills() {
      return kills;
    },
    get adminErrors() {
      return adminErrors;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
