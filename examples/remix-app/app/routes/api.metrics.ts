/** `GET /api/metrics`: the library's metrics handler as a resource route. */
import type { LoaderFunctionArgs } from 'react-router';
import { metricsLoader } from '~/services/connection-pool-manager.server';

export function loader({ request }: LoaderFunctionArgs) {
  return metricsLoader(request);
}
