'use client';
/**
 * Live pool metrics: starts from the page's snapshot and polls `/api/status` (counters only, no
 * query) every two seconds. Whichever snapshot is newer wins, so a re-render after an action shows at once.
 */
import { useEffect, useState } from 'react';
import type { PoolStatus } from '@/lib/pool-status';

const POLL_MS = 2000;

export function StatusPanel({ initial }: { initial: PoolStatus }) {
  const [polled, setPolled] = useState<PoolStatus | null>(null);
  const [hydrated, setHydrated] = useState(false);

  useEffect(() => {
    setHydrated(true);
    const controller = new AbortController();
    const poll = () =>
      fetch('/api/status', { cache: 'no-store', signal: controller.signal })
        .then((response) => (response.ok ? (response.json() as Promise<PoolStatus>) : null))
        .then((status) => status && setPolled(status))
        .catch(() => {}); // aborted on unmount, or the server is restarting: the next tick tries again
    const timer = setInterval(poll, POLL_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, []);

  const status = polled && polled.at > initial.at ? polled : initial;
  const rows: [string, string, string | number][] = [
    ['mode', 'Mode', `${status.mode} (:${status.port})`],
    ['runtime', 'Runtime', status.runtime],
    ['total', 'Operations', status.totalQueries],
    ['reads', 'Reads (readWithPooling)', status.reads],
    ['plain-reads', 'Reads (plain prisma)', status.plainReads],
    ['writes', 'Writes', status.writes],
    ['failed', 'Failed', status.failedQueries],
    ['retries', 'Retries', status.retries],
    ['avg', 'Avg latency', `${status.avgLatency.toFixed(1)} ms`],
    ['p95', 'p95 latency', `${status.p95Latency.toFixed(1)} ms`],
    ['p99', 'p99 latency', `${status.p99Latency.toFixed(1)} ms`],
    ['pool', 'Pool active/idle/limit', `${status.pool.active}/${status.pool.idle}/${status.pool.limit}`],
    ['waiting', 'Waiting', status.pool.waiting],
    ['warmup', 'Warmed connections', status.warmupConnections],
    ['spans', 'OpenTelemetry spans', status.spans],
  ];

  return (
    <aside data-testid="status-panel" data-hydrated={hydrated ? 'true' : 'false'}>
      <h2>Pool status</h2>
      <dl className="metrics">
        {rows.map(([key, label, value]) => (
          <div key={key} style={{ display: 'contents' }}>
            <dt>{label}</dt>
            <dd data-testid={`metric-${key}`}>{value}</dd>
          </div>
        ))}
      </dl>
      <p className="muted">
        Updated {new Date(status.at).toISOString().slice(11, 19)} UTC · <a href="/api/health">health</a> ·{' '}
        <a href="/api/metrics">metrics</a>
      </p>
    </aside>
  );
}
