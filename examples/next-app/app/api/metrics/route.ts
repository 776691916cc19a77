/** `GET /api/metrics`: the package's Prometheus handler. */
import { metricsLoader } from 'prisma-pgbouncer-pooling';
import { connectionPoolManager } from '@/lib/db';

export const dynamic = 'force-dynamic';
export const GET = metricsLoader(connectionPoolManager);
