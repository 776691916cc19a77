/**
 * The registry behind "this error proves nothing was sent" for errors whose shape cannot say it
 * themselves: a connection that failed while it was being opened (a login cut short by a PgBouncer
 * KILL, a reset during the TLS handshake) fails with the same text as one lost mid-statement, and
 * only the place that threw knows which it was. That place (src/adapter/not-sent.ts) marks the
 * error object; the classifier (./classify-error.ts) reads the mark into `sent: false`.
 *
 * A WeakSet membership: no property is added to an object we do not own, and nothing is retained.
 */
const NOT_SENT = new WeakSet<object>();

export function markNotSent(error: unknown): void {
  if (typeof error === 'object' && error !== null) NOT_SENT.add(error);
}

/** True when `error` itself was marked (the classifier walks the cause chain). */
export function isMarkedNotSent(error: unknown): boolean {
  return typeof error === 'object' && error !== null && NOT_SENT.has(error);
}
