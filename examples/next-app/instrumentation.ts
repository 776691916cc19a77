/**
 * Next.js calls `register()` once per server instance, before the first request
 * (nextjs.org/docs/app/guides/instrumentation). The pool and Prisma need Node.js: everything is
 * imported inside the `nodejs` branch, so the Edge runtime's build of this file never sees them.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  // Providers first: the manager decides at its first call whether telemetry is on.
  const { registerTelemetry } = await import('@/lib/telemetry');
  await registerTelemetry();
  // Opens the pool's connections and runs the warmup query ahead of the first request. Not
  // awaited: it never rejects, and the server starts listening without waiting for the database.
  const { connectionPoolManager } = await import('@/lib/db');
  void connectionPoolManager.warmup();
}
