/** `GET /api/metrics`: the package's Prometheus loader as a resource route. */
import { metricsLoader } from 'prisma-pgbouncer-pooling';
import { connectionPoolManager } from '~/services/connection-pool-manager.server';

export const loader = metricsLoader(connectionPoolManager);
