/** `GET /api/health`: the library's Fetch-API health handler as a resource route (200 healthy/degraded, 503 unhealthy). */
import type { LoaderFunctionArgs } from 'react-router';
import { healthLoader } from '~/services/connection-pool-manager.server';

export function loader({ request }: LoaderFunctionArgs) {
  return healthLoader(request);
}
