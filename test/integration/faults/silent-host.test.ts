/**
 * A pooler whose open connections go silent while new ones work (an IP that moved, a deleted pod,
 * a dropped NAT mapping: no RST, no FIN). A proxy in front of the stack's PgBouncer swallows all
 * traffic on the connections open at that moment (tools/stack/faults/tcp-proxy.ts blackholeOpen).
 * With the silence bound (here the URL's libpq `tcp_user_timeout`), each stuck connection is
 * destroyed once it has been silent for half of it, reads run again on fresh connections within the
 * other half, writes follow the outcome rules; no call takes longer than the bound, nothing is lost
 * or written twice.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { startProxy, type TcpProxy } from '../../../tools/stack/faults/tcp-proxy.ts';
import { activityLogCounts } from '../../support/ledger.ts';
import { sql, testManager } from '../../support/managers.ts';
import { managerTracker } from '../../support/track.ts';

const stack = inject('stack');
const track = managerTracker();
/** The bound under test: short, so the run is short. The serverless default is min(15 s, pool timeout). */
const BOUND_MS = 2_000;
const WORKERS = 6;
const SILENCE_AT_MS = 1_200;
const RUN_MS = SILENCE_AT_MS + 4 * BOUND_MS;

let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
});
afterAll(async () => {
  await proxy?.close();
});

interface Call {
  readonly kind: 'read' | 'plain-read' | 'write';
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ok: boolean;
  readonly errorKind: string | null;
  readonly action: string | null;
}

describe('silent pooler connections (gray failure) under the silence bound', () => {
  it('no call takes longer than the bound, every call after it succeeds, nothing lost or written twice', async () => {
    const url = new URL(proxy.url(stack.poolerUrl));
    url.searchParams.set('tcp_user_timeout', String(BOUND_MS));
    const manager = track(testManager(stack, { DATABASE_URL: url.toString() }));
    expect(manager.config.silenceTimeoutMs).toBe(BOUND_MS);
    expect(manager.config.silenceTimeoutSource).toBe('url');
    const userId = randomUUID();
    await sql(stack.directUrl, 'INSERT INTO "User" (id, email) VALUES ($1, $2)', [userId, `silent-${userId}@example.com`]);

    const calls: Call[] = [];
    const t0 = performance.now();
    let silencedAt = Number.POSITIVE_INFINITY;
    let silenced = 0;
    const silencer = setTimeout(() => {
      silenced = proxy.blackholeOpen();
      silencedAt = performance.now() - t0;
    }, SILENCE_AT_MS);

    const worker = async (w: number) => {
      for (let i = 0; performance.now() - t0 < RUN_MS; i++) {
        const kind = (['read', 'plain-read', 'write'] as const)[(w + i) % 3] as Call['kind'];
        const action = kind === 'write' ? `silent-${userId}-${w}-${i}` : null;
        const startedAt = performance.now() - t0;
        try {
          if (kind === 'read') await manager.readWithPooling((tx) => tx.user.findUnique({ where: { id: userId } }));
          else if (kind === 'plain-read') await manager.prisma.user.count({ where: { id: userId } });
          else await manager.writeWithPooling((tx) => tx.activityLog.create({ data: { userId, action: action as string } }));
          calls.push({ kind, startedAt, endedAt: performance.now() - t0, ok: true, errorKind: null, action });
        } catch (error) {
          calls.push({ kind, startedAt, endedAt: performance.now() - t0, ok: false, errorKind: classifyError(error).kind, action });
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    clearTimeout(silencer);

    const longest = Math.max(...calls.map((c) => c.endedAt - c.startedAt));
    const failed = calls.filter((c) => !c.ok);
    console.log(
      `silent host: ${calls.length} calls, ${silenced} connections silenced at ${Math.round(silencedAt)} ms, longest call ${Math.round(longest)} ms (bound ${BOUND_MS} ms), failed: ${JSON.stringify(failed.map((c) => `${c.kind}:${c.errorKind}`))}`,
    );
    // The fault happened, on connections that were in use.
    expect(silenced).toBeGreaterThan(0);
    // Reads never fail: a read cut at half the bound runs again on a fresh connection.
    expect(failed.filter((c) => c.kind !== 'write')).toEqual([]);
    // A write may only fail as outcome-unknown (its COMMIT was cut); never as anything else.
    expect(failed.filter((c) => c.errorKind !== 'outcome-unknown')).toEqual([]);
    // Every call that started once the bound had run out after the fault succeeded, and there were some.
    const after = calls.filter((c) => c.startedAt > silencedAt + BOUND_MS);
    expect(after.length).toBeGreaterThan(WORKERS);
    expect(after.filter((c) => !c.ok)).toEqual([]);
    // No call past the bound: the cut at half of it, then the retry on a fresh connection (without
    // the bound they wait to the end of the run and beyond).
    expect(longest).toBeLessThanOrEqual(BOUND_MS);

    // Nothing lost, nothing written twice.
    const written = await activityLogCounts(stack.directUrl, { userId });
    for (const call of calls.filter((c) => c.kind === 'write')) {
      const n = written.get(call.action as string) ?? 0;
      expect(n, call.action as string).toBeLessThanOrEqual(1);
      if (call.ok) expect(n, call.action as string).toBe(1);
    }
    // The silenced sockets were closed by the client (destroyed, never handed out again).
    await expect.poll(() => proxy.blackholed(), { timeout: 5_000 }).toBe(0);
  }, 60_000);

  it('a slow query cannot be told from a dead link on its own connection: statement_timeout below the cut answers first', async () => {
    const url = new URL(stack.poolerUrl);
    url.searchParams.set('tcp_user_timeout', String(BOUND_MS));
    const manager = track(testManager(stack, { DATABASE_URL: url.toString() }));
    const seconds = (BOUND_MS + 1_000) / 1000;
    // Sends nothing for longer than half the bound: cut as silent (the server answers no byte while it sleeps).
    const cut = await manager
      .withPooling((tx) => tx.$executeRawUnsafe(`SELECT pg_sleep(${seconds})`), { retry: { maxAttempts: 1 } })
      .catch((error: unknown) => error);
    expect(String(cut)).toMatch(/went silent/);
    // With the server's statement_timeout below the cut, the server itself ends the query in time: 57014, not silence.
    const timedOut = await manager
      .withPooling(
        async (tx) => {
          await tx.$executeRawUnsafe(`SET LOCAL statement_timeout = ${Math.round(BOUND_MS / 4)}`);
          return tx.$executeRawUnsafe(`SELECT pg_sleep(${seconds})`);
        },
        { retry: { maxAttempts: 1 } },
      )
      .catch((error: unknown) => error);
    expect(classifyError(timedOut)).toMatchObject({ kind: 'timeout', code: '57014' });
    expect(String(timedOut)).not.toMatch(/went silent/);
    // And the manager goes on serving.
    await expect(manager.withPooling((tx) => tx.user.count())).resolves.toBeGreaterThanOrEqual(0);
  }, 30_000);
});
