/**
 * Live pool metrics: starts from the page loader's snapshot and polls `/status` (counters only, no
 * query) every two seconds. Whichever snapshot is newer wins, so a revalidation after an action
 * shows at once.
 */
import { useEffect, useState } from 'react';
import { useFetcher } from 'react-router';
import type { PoolStatus } from '~/lib/pool-status.server';

const POLL_MS = 2000;

export function StatusPanel({ initial }: { initial: PoolStatus }) {
  const fetcher = useFetcher<PoolStatus>();
  const [hydrated, setHydrated] = useState(false);
  const { load } = fetcher;

  useEffect(() => {
    setHydrated(true);
    const timer = setInterval(() => load('/status'), POLL_MS);
    return () => clearInterval(timer);
  }, [load]);

  const status = fetcher.data && fetcher.data.at > initial.at ? fetcher.data : initial;
  const rows: [string, string, string | number][] = [
    ['mode', 'Mode', `${status.mode} (:${status.port})`],
    ['runtime', 'Runtime', status.runtime],
    ['total', 'Operations', status.totalQueries],
    ['reads', 'Reads', status.reads],
    ['writes', 'Writes', status.writes],
    ['failed', 'Failed', status.failedQueries],
    ['retries', 'Retries', status.retries],
    ['avg', 'Avg latency', `${status.avgLatency.toFixed(1)} ms`],
    ['p95', 'p95 latency', `${status.p95Latency.toFixed(1)} ms`],
    ['p99', 'p99 latency', `${status.p99Latency.toFixed(1)} ms`],
    ['pool', 'Pool active/idle/limit', `${status.pool.active}/${status.pool.idle}/${status.pool.limit}`],
    ['waiting', 'Waiting', status.pool.waiting],
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
