/**
 * The app singleton: bound to `process.env` and this repo's generated Prisma client. Import it in
 * Remix / React Router loaders and actions as `~/services/connection-pool-manager.server`.
 *
 * Kept on `globalThis` so dev-server hot reloads (which re-evaluate this module) reuse the one
 * manager and its pool instead of opening a second pool per reload. Lazy: nothing connects and
 * nothing reads the environment until the first call; after `disconnect()` the next import-time
 * lookup creates a fresh manager.
 */
import { PrismaClient } from '../generated/prisma/client.ts';
import { createHealthHandler, createMetricsHandler } from '../health/http.ts';
import { type ConnectionPoolManager, createConnectionPoolManager } from '../manager/connection-pool-manager.ts';

type AppPrismaClient = InstanceType<typeof PrismaClient>;
type AppManager = ConnectionPoolManager<AppPrismaClient>;

const GLOBAL_KEY = Symbol.for('prisma-pgbouncer-pooling.connectionPoolManager');
const globalStore = globalThis as typeof globalThis & { [GLOBAL_KEY]?: AppManager };

function createAppManager(): AppManager {
  return createConnectionPoolManager({ createClient: (adapter) => new PrismaClient({ adapter }) });
}

const existing = globalStore[GLOBAL_KEY];
export const connectionPoolManager: AppManager = existing && !existing.closed ? existing : createAppManager();
globalStore[GLOBAL_KEY] = connectionPoolManager;

export const withPooling: AppManager['withPooling'] = (fn, options) => connectionPoolManager.withPooling(fn, options);
export const readWithPooling: AppManager['readWithPooling'] = (fn, options) => connectionPoolManager.readWithPooling(fn, options);
export const writeWithPooling: AppManager['writeWithPooling'] = (fn, options) => connectionPoolManager.writeWithPooling(fn, options);
export const batchWithPooling: AppManager['batchWithPooling'] = (ops, options) => connectionPoolManager.batchWithPooling(ops, options);

/**
 * Remix / React Router resource-route loaders, verbatim:
 * `export const loader = ({ request }: LoaderFunctionArgs) => healthLoader(request);` in `app/routes/api.health.ts`
 * (200 healthy/degraded, 503 unhealthy), and `metricsLoader` for Prometheus text in `app/routes/api.metrics.ts`.
 */
export const healthLoader: (request: Request) => Promise<Response> = createHealthHandler(connectionPoolManager);
export const metricsLoader: (request: Request) => Promise<Response> = createMetricsHandler(connectionPoolManager);
