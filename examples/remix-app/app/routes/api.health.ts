/** `GET /api/health`: the package's health loader as a resource route (200 healthy/degraded, 503 unhealthy). */
import { healthLoader } from 'prisma-pgbouncer-pooling';
import { connectionPoolManager } from '~/services/connection-pool-manager.server';

export const loader = healthLoader(connectionPoolManager);
