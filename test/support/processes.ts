import { readdirSync, readFileSync } from 'node:fs';

/** Command lines of live processes that name `dir` (postgres -D <dir>/pgdata, pgbouncer <dir>/pgbouncer.ini). */
export function processesMentioning(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmd.includes(dir) ? [cmd] : [];
      } catch {
        return []; // the process ended while we looked
      }
    });
}
