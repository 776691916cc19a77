/**
 * The debug line of a failover: one per call that enters its failover window (the retries that
 * follow inside the window are counted in the metrics, not logged), so a 1.5 s switchover under
 * 8 writers logs 8 lines, not a hundred.
 */
import { parseDatabaseUrl } from '../config/database-url.ts';
import { describeHosts, needsHostSelection, parseHostList } from '../config/host-list.ts';
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

/** The health report's view of a multi-host URL (hosts and target_session_attrs, no credentials); null for one host. */
export function healthHostList(connectionString: string): { hosts: string[]; targetSessionAttrs: string } | null {
  const list = parseHostList(parseDatabaseUrl(connectionString));
  return needsHostSelection(list) ? { hosts: describeHosts(list), targetSessionAttrs: list.targetSessionAttrs } : null;
}
