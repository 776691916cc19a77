/**
 * The debug line of a failover: one per call that enters its failover window (the retries that
 * follow inside the window are counted in the metrics, not logged), so a 1.5 s switchover under
 * 8 writers logs 8 lines, not a hundred.
 */
import type { ErrorClassification } from '../errors/classify-error.ts';

export function logFailoverRetry(
  log: (format: string, ...args: unknown[]) => void,
  kind: string,
  classification: ErrorClassification,
  started: boolean,
): void {
  if (!started) return;
  log(
    '%s: the primary is moving (%s%s); retrying on fresh connections until failoverTimeoutMs',
    kind,
    classification.kind,
    classification.code ? ` ${classification.code}` : '',
  );
}
