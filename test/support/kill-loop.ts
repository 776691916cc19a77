/**
 * PgBouncer `KILL` (then `RESUME`) of a database every `everyMs` until stopped: every client connection
 * drops at once. Each KILL waits until no client is mid-login (killWhenNoLogins): PgBouncer 1.24.1
 * segfaulted under this suite's KILLs (pgbouncer/pgbouncer#1401), and a client mid-login is the suspect.
 */
import { killWhenNoLogins } from '../../tools/stack/faults/pgbouncer-admin.ts';

export interface KillLoop {
  /** KILLs that succeeded so far. */
  readonly kills: number;
  /** Stops the loop and waits for a KILL in progress. */
  stop(): Promise<void>;
}

export function startKillLoop(adminUrl: string, database: string, everyMs = 300): KillLoop {
  let stopped = false;
  let kills = 0;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      if (!stopped)
        await killWhenNoLogins(adminUrl, database).then(
          () => kills++,
          () => {},
        );
    }
  })();
  return {
    get kills() {
      return kills;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
