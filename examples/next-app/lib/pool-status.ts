import 'server-only';
import { connectionPoolManager } from '@/lib/db';
import { finishedSpans } from '@/lib/telemetry';

/** What the status panel shows: the wrappers' metrics plus the resolved mode. No queries run here. */
export function poolStatus() {
  const { mode, port, runtime, connectionLimit } = connectionPoolManager.config;
  const m = connectionPoolManager.getMetrics();
  return {
    at: Date.now(),
    mode,
    port,
    runtime,
    connectionLimit,
    totalQueries: m.totalQueries,
    failedQueries: m.failedQueries,
    retries: m.retries,
    avgLatency: m.avgLatency,
    p95Latency: m.p95Latency,
    p99Latency: m.p99Latency,
    reads: m.byKind.read.totalQueries,
    plainReads: m.byKind['plain-read'].totalQueries,
    writes: m.byKind.write.totalQueries,
    pool: m.pool,
    warmupConnections: m.warmupConnections,
    spans: finishedSpans(),
  };
}

export type PoolStatus = ReturnType<typeof poolStatus>;
