/**
 * `getHealth()`'s single flight: callers that arrive while a probe runs share its answer, so a burst
 * of health requests (a load balancer, `autocannon -c 100`) costs one probe, not a hundred
 * connects; a change of status is logged once.
 */
import type { HealthReport, HealthStatus, HealthVerdict } from '../health/health-check.ts';
import { managerLog } from '../logging/loggers.ts';

export class HealthProbe {
  #inFlight: Promise<HealthReport> | null = null;
  /** The last reported status, to log changes only. */
  #last: HealthStatus | null = null;

  constructor(private readonly probe: () => Promise<{ report: HealthReport; verdict: HealthVerdict }>) {}

  report(): Promise<HealthReport> {
    this.#inFlight ??= this.probe()
      .then(({ report, verdict }) => {
        if (report.status !== this.#last) {
          const reasons = verdict.reasons.length > 0 ? ` (${verdict.reasons.join('; ')})` : '';
          managerLog('health %s -> %s%s', this.#last ?? 'unknown', report.status, reasons);
          this.#last = report.status;
        }
        return report;
      })
      .finally(() => {
        this.#inFlight = null;
      });
    return this.#inFlight;
  }
}
