/**
 * PgBouncer's cost per client login, and the switch to SCRAM verifiers in its auth_file.
 *
 * The bench's pooled stack starts with plain-text passwords in PgBouncer's auth_file
 * (`plainTextAuthFile`; the stack's default is the verifiers). PgBouncer then derives
 * the SCRAM keys (PBKDF2, 4096 rounds) on every client login, on its single thread, stalling all
 * other traffic meanwhile; with the SCRAM verifier Postgres itself stores (what `auth_query` would
 * return in production), a login costs PgBouncer almost nothing and server logins use SCRAM
 * pass-through. The bench measures both, then runs the scale runs with verifiers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { LocalStack } from '../stack/start-stack.ts';

export interface LoginCost {
  logins: number;
  /** PgBouncer CPU (user + system) per client login, ms. */
  plainTextCpuMsPerLogin: number;
  scramVerifierCpuMsPerLogin: number;
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime + stime (fields 14 and 15 of stat, 11 and 12 after the command name), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function loginCpu(stack: LocalStack, logins: number): Promise<number> {
  const pid = stack.pids().pgbouncer;
  if (pid === null) throw new Error('bench: pgbouncer is not running');
  const before = cpuMs(pid);
  // In batches of 50, so the figure is the login cost, not a queueing artefact.
  for (let done = 0; done < logins; done += 50) {
    const clients = Array.from({ length: Math.min(50, logins - done) }, () => new pg.Client({ connectionString: stack.poolerUrl }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
    } finally {
      await Promise.allSettled(clients.map((c) => c.end()));
    }
  }
  return Math.round(((cpuMs(pid) - before) / logins) * 100) / 100;
}

/** Replaces the plain-text passwords in PgBouncer's auth_file with Postgres' SCRAM verifiers and reloads it. */
export async function useScramVerifiers(stack: LocalStack): Promise<void> {
  const su = new pg.Client({ connectionString: stack.superuserUrl });
  await su.connect();
  let rows: { rolname: string; rolpassword: string }[];
  try {
    ({ rows } = await su.query<{ rolname: string; rolpassword: string }>(
      "SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword LIKE 'SCRAM-SHA-256$%'",
    ));
  } finally {
    await su.end();
  }
  const file = path.join(stack.baseDir, 'userlist.txt');
  const verifiers = new Map(rows.map((r) => [r.rolname, r.rolpassword]));
  const text = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => {
      const user = /^"([^"]+)" /.exec(line)?.[1];
      const verifier = user === undefined ? undefined : verifiers.get(user);
      return verifier === undefined ? line : `"${user}" "${verifier}"`;
    })
    .join('\n');
  writeFileSync(file, text);
  const admin = new pg.Client({ connectionString: stack.adminUrl });
  await admin.connect();
  try {
    await admin.query('RELOAD');
  } finally {
    await admin.end();
  }
}

export async function measureLoginCostAndSwitch(stack: LocalStack, logins: number): Promise<LoginCost> {
  const plainTextCpuMsPerLogin = await loginCpu(stack, logins);
  await useScramVerifiers(stack);
  const scramVerifierCpuMsPerLogin = await loginCpu(stack, logins);
  return { logins, plainTextCpuMsPerLogin, scramVerifierCpuMsPerLogin };
}
