/** `GET /api/health`: the package's health handler (200 healthy/degraded, 503 unhealthy). */
import { healthLoader } from 'prisma-pgbouncer-pooling';
import { connectionPoolManager } from '@/lib/db';

export const dynamic = 'force-dynamic';
export const GET = healthLoader(connectionPoolManager);
