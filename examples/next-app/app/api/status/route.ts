/** `GET /api/status`: the status panel's polling endpoint (JSON; reads counters only, runs no query). */
import { poolStatus } from '@/lib/pool-status';

export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json(poolStatus(), { headers: { 'Cache-Control': 'no-store' } });
}
