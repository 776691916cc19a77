/** `GET /status`: the status panel's polling endpoint (JSON; reads counters only, runs no query). */
import { poolStatus } from '~/lib/pool-status.server';

export function loader() {
  return Response.json(poolStatus(), { headers: { 'Cache-Control': 'no-store' } });
}
