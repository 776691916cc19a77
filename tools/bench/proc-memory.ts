/**
 * Server memory from `/proc`: PSS (proportional set size: private pages plus each shared page
 * divided by the number of processes mapping it) of the Postgres processes, from
 * `/proc/<pid>/smaps_rollup`. Summing PSS over processes counts shared memory (shared_buffers,
 * the binary) once, so the sum is what the backends really cost the machine.
 *
 * Backends are found as children of the postmaster (this kernel has no `/proc/<pid>/task/*\/children`,
 * so we scan `/proc/*\/stat` for the parent pid); a client backend's title starts with
 * `postgres: <user> <database>`, the auxiliary processes (checkpointer, walwriter …) do not.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Rollup {
  pssKb: number;
  pssAnonKb: number;
  pssShmemKb: number;
  privateKb: number;
}

const ZERO: Rollup = { pssKb: 0, pssAnonKb: 0, pssShmemKb: 0, privateKb: 0 };

export function readRollup(pid: number): Rollup | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return null; // gone in the meantime (a refused backend lives a few ms)
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return {
    pssKb: field('Pss'),
    pssAnonKb: field('Pss_Anon'),
    pssShmemKb: field('Pss_Shmem'),
    privateKb: field('Private_Clean') + field('Private_Dirty'),
  };
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

function title(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

export function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (parentOf(pid) === parent) pids.push(pid);
  }
  return pids;
}

export interface ServerMemorySample {
  /** Client backends of `user` (serving our instances or PgBouncer). */
  backends: number;
  backendsRollup: Rollup;
  /** Postmaster + every child (backends and auxiliary processes). */
  clusterRollup: Rollup;
}

const add = (a: Rollup, b: Rollup): Rollup => ({
  pssKb: a.pssKb + b.pssKb,
  pssAnonKb: a.pssAnonKb + b.pssAnonKb,
  pssShmemKb: a.pssShmemKb + b.pssShmemKb,
  privateKb: a.privateKb + b.privateKb,
});

export function sampleServerMemory(postmasterPid: number, user: string): ServerMemorySample {
  let backends = 0;
  let backendsRollup = ZERO;
  let clusterRollup = readRollup(postmasterPid) ?? ZERO;
  for (const pid of childrenOf(postmasterPid)) {
    const rollup = readRollup(pid);
    if (!rollup) continue;
    clusterRollup = add(clusterRollup, rollup);
    if (title(pid).startsWith(`postgres: ${user} `)) {
      backends++;
      backendsRollup = add(backendsRollup, rollup);
    }
  }
  return { backends, backendsRollup, clusterRollup };
}

/** Samples every `intervalMs` until stopped; keeps the sample with the largest backend PSS, and the largest backend count. */
export function startPeakSampler(postmasterPid: number, user: string, pgbouncerPid: number | null, intervalMs = 500) {
  let peak: ServerMemorySample | null = null;
  let peakBackends = 0;
  let peakPgbouncerKb = 0;
  const tick = () => {
    const sample = sampleServerMemory(postmasterPid, user);
    if (!peak || sample.backendsRollup.pssKb > peak.backendsRollup.pssKb) peak = sample;
    peakBackends = Math.max(peakBackends, sample.backends);
    if (pgbouncerPid !== null) peakPgbouncerKb = Math.max(peakPgbouncerKb, readRollup(pgbouncerPid)?.pssKb ?? 0);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { peak: peak as ServerMemorySample | null, peakBackends, peakPgbouncerKb };
    },
  };
}
