/**
 * Read-your-writes on replicas: the one object the manager asks "where does this read go?".
 *
 * Consistency model (docs/read-replicas.md):
 * - A read goes to a replica only if that replica has replayed every write this instance
 *   committed before the read started, and the position in the read's `after` token.
 * - After a write on the primary ends, the instance's reads go to the primary until the WAL
 *   position covering that write is known (`fetchCommitPosition`, fetched in the background, one
 *   in flight at a time) and a replica has been seen past it.
 * - The decision reads the monitor's last observations: no round trip on the read's path.
 *   Observations only ever lag reality, so a replica is never credited with WAL it has not replayed.
 */
import pg from 'pg';
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import type { ErrorClassification } from '../errors/classify-error.ts';
import type { ReplicaFigures } from '../health/health-check.ts';
import { buildPgPoolConfig } from '../pool/create-pool.ts';
import { fetchWalPosition, type Queryable, type WalPosition } from './commit-position.ts';
import { encodeConsistencyToken } from './consistency-token.ts';
import { formatLsn, type Lsn, maxLsn } from './lsn.ts';
import { OwnWrites } from './own-writes.ts';
import { type MonitoredReplica, ReplicaMonitor, type ReplicaStatus } from './replica-monitor.ts';
import { READ_TARGETS, type ReadTarget, type ReplicaState, selectReadRoute } from './replica-selection.ts';
import { type ResolvedReplicaRoutingOptions, replicaPollTimeoutMs } from './routing-options.ts';

export interface RouterReplica<H> extends MonitoredReplica {
  /** What the manager runs the read on (its pool and client for this replica). */
  readonly handle: H;
}

export interface ReadDecision<H> {
  readonly target: ReadTarget;
  /** The replica's handle; null means the primary. */
  readonly handle: H | null;
  readonly replicaIndex: number | null;
}

export interface ReadRouterDeps {
  /** One query on the primary after a write: see commit-position.ts. A bare Lsn: no timeline known. */
  readonly fetchCommitPosition: () => Promise<Lsn | WalPosition>;
  /** Deadline of one replica poll, ms. */
  readonly pollTimeoutMs: number;
  readonly log?: (format: string, ...args: unknown[]) => void;
}

/**
 * Errors that say "this replica cannot serve now" rather than "this query failed". `pool-timeout`
 * is in: behind PgBouncer a replica that went down leaves the pooler's connected clients waiting
 * for a server (until `query_wait_timeout`, 120 s by default), so the attempt's start deadline
 * (`replicaStartTimeoutMs`) is what notices it.
 */
const REPLICA_DOWN_KINDS = new Set(['connection', 'too-many-connections', 'pooler-timeout', 'pool-timeout']);

const toFigures = (r: ReplicaStatus): ReplicaFigures => ({
  url: r.name,
  state: r.state,
  lagMs: r.lagMs,
  replayLsn: r.replayLsn === null ? null : formatLsn(r.replayLsn),
  ...(r.error && r.state === 'down' ? { error: r.error } : {}),
});

export type ReadsByTarget = Record<ReadTarget, number>;

const zeroCounts = (): ReadsByTarget => Object.fromEntries(READ_TARGETS.map((t) => [t, 0])) as ReadsByTarget;

export class ReadRouter<H> {
  readonly #replicas: readonly RouterReplica<H>[];
  readonly #monitor: ReplicaMonitor;
  #turn = 0;
  #counts = zeroCounts();
  readonly #ownWrites: OwnWrites;

  constructor(replicas: readonly RouterReplica<H>[], options: ResolvedReplicaRoutingOptions, deps: ReadRouterDeps) {
    this.#replicas = replicas;
    const log = deps.log;
    this.#monitor = new ReplicaMonitor(replicas, {
      intervalMs: options.replicaPollIntervalMs,
      maxLagMs: options.maxReplicaLagMs,
      timeoutMs: deps.pollTimeoutMs,
      onStateChange: log
        ? (name: string, from: ReplicaState, to: ReplicaState, error: string | null) =>
            log('replica %s: %s -> %s%s', name, from, to, error ? ` (${error})` : '')
        : undefined,
    });
    this.#monitor.start();
    this.#ownWrites = new OwnWrites(deps.fetchCommitPosition, (lsn) => this.#monitor.notePrimaryPosition(lsn));
    this.#ownWrites.onNewTimeline = (timeline) => {
      this.#monitor.forgetPositions();
      log?.('primary on a new WAL timeline (%d): a standby was promoted; positions of the old timeline dropped', timeline);
    };
  }

  /**
   * Where the next attempt of a read goes; `after` is a parsed consistency token (or null), with
   * `afterTimeline`, the WAL timeline it belongs to when the token said (v2). `how`: `consistent`
   * (default) honours this instance's writes and `after`; `any-replica` (`prisma.$replica()`) takes
   * a healthy replica whatever this instance wrote, but still one that has replayed `after`;
   * `primary` means an earlier attempt found its replica busy, so this one takes the primary
   * (counted as `primary-fallback`). Counts the decision.
   */
  route(
    after: Lsn | null,
    how: 'consistent' | 'any-replica' | 'primary' = 'consistent',
    afterTimeline: number | null = null,
  ): ReadDecision<H> {
    if (how === 'primary') {
      this.#counts['primary-fallback'] += 1;
      return { target: 'primary-fallback', handle: null, replicaIndex: null };
    }
    const pending = how === 'consistent' && this.#ownWrites.pending;
    if (pending) this.#ownWrites.resolveSoon();
    const statuses = this.#monitor.statuses();
    // A token of another timeline than the primary's (made before a promotion, or on a primary we
    // have not seen yet): its position cannot be compared with the replicas' — it may never be
    // reached — so the read goes to the primary at once, which has whatever survived the promotion.
    const known = this.#ownWrites.timeline;
    const otherTimeline = afterTimeline !== null && known !== null && afterTimeline !== known;
    if (otherTimeline && afterTimeline > known) this.#ownWrites.resolveSoon();
    // A write whose position is not known yet: the primary is the only server sure to show it.
    const route =
      pending || otherTimeline
        ? ({ target: 'primary-consistency' } as const)
        : selectReadRoute(statuses, how === 'consistent' ? maxLsn(this.#ownWrites.position, after) : after, this.#turn++);
    // The next read may find a replica caught up (or back); after a freeze, observations are refreshed.
    if (route.target !== 'replica') this.#monitor.refreshSoon();
    else this.#monitor.refreshIfStale();
    this.#counts[route.target] += 1;
    if (route.target === 'replica') {
      const replica = this.#replicas[route.index] as RouterReplica<H>;
      return { target: 'replica', handle: replica.handle, replicaIndex: route.index };
    }
    return { target: route.target, handle: null, replicaIndex: null };
  }

  /**
   * A read attempt on a replica failed. Returns true when the read should be retried elsewhere: a
   * connection-class error (or a start that timed out) takes that replica out until a poll finds
   * it answering; a pool timeout while every connection of the replica's pool was taken (`busy`)
   * sends the read to the primary but leaves the replica in: it is busy, not down.
   */
  replicaFailed(decision: ReadDecision<H>, classification: ErrorClassification, attempt: { busy?: boolean } = {}): boolean {
    if (decision.replicaIndex === null || !REPLICA_DOWN_KINDS.has(classification.kind)) return false;
    if (attempt.busy && classification.kind === 'pool-timeout') return true;
    this.#monitor.markDown(decision.replicaIndex, classification.kind);
    return true;
  }

  /**
   * A transaction that may have written ended on the primary (committed, or outcome unknown).
   * Reads go to the primary until its position is known; the fetch starts now, off the caller's path.
   */
  noteWrite(): void {
    this.#ownWrites.noteWrite();
  }

  /**
   * A token for `readWithPooling(fn, { after })` on any instance: such reads see every write this
   * instance committed before this call. Costs one query on the primary only when a write's
   * position is not known yet (or nothing was written: then it is the primary's position now).
   */
  async consistencyToken(): Promise<string> {
    if (this.#ownWrites.pending || this.#ownWrites.position === null) await this.#ownWrites.resolve();
    return encodeConsistencyToken(this.#ownWrites.position as Lsn, this.#ownWrites.timeline);
  }

  /** Reads routed to each target (each attempt counts) since creation or `resetCounts()`. */
  readsByTarget(): ReadsByTarget {
    return { ...this.#counts };
  }

  resetCounts(): void {
    this.#counts = zeroCounts();
  }

  /** Polls the replicas now (bounded by `signal`) and reports each one, as the health check shows it. */
  async health(signal?: AbortSignal): Promise<ReplicaFigures[]> {
    const refreshed = this.#monitor.refresh();
    if (signal) {
      await Promise.race([
        refreshed,
        new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        }),
      ]);
    } else {
      await refreshed;
    }
    return this.figures();
  }

  /** Last observations, no I/O: redacted URL, state, lag, replay position as Postgres prints it (JSON-safe). */
  figures(): ReplicaFigures[] {
    return this.#monitor.statuses().map(toFigures);
  }

  /** Stops polling and ends the monitor pools (the replicas' app pools belong to the caller). */
  close(): Promise<void> {
    return this.#monitor.close();
  }
}

export interface ReadRouterSetup<H> {
  /** The manager's handle for each of `config.readReplicas`, in the same order. */
  readonly handles: readonly H[];
  readonly config: PoolConfig;
  readonly options: ResolvedReplicaRoutingOptions;
  /** The primary's pool: `fetchCommitPosition` runs there. */
  readonly primaryPool: Queryable;
  readonly applicationName: string;
  readonly log?: (format: string, ...args: unknown[]) => void;
}

/** Wires a router for the manager: one monitor pool per replica, built like the app's pools but one connection wide. */
export function createReadRouter<H>(setup: ReadRouterSetup<H>): ReadRouter<H> {
  const { config } = setup;
  if (setup.handles.length !== config.readReplicas.length) throw new TypeError('createReadRouter: one handle per read replica');
  const replicas = config.readReplicas.map((target, index) => ({
    handle: setup.handles[index] as H,
    name: target.databaseUrl,
    pool: new pg.Pool({
      ...buildPgPoolConfig({ connectionString: target.connectionString, connectionLimit: 1 }, config, {
        applicationName: `${setup.applicationName}:replica-monitor`,
      }),
      // A poll waits for its one connection no longer than it waits for the answer.
      connectionTimeoutMillis: replicaPollTimeoutMs(config),
    }),
  }));
  return new ReadRouter(replicas, setup.options, {
    fetchCommitPosition: () => fetchWalPosition(setup.primaryPool),
    pollTimeoutMs: replicaPollTimeoutMs(config),
    log: setup.log,
  });
}
