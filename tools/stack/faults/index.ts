/** Fault-injection tools for the local stack: PgBouncer admin commands, Postgres backend kills, a TCP proxy. */
export {
  type AdminOptions,
  type AdminResult,
  adminCommand,
  assertIdentifier,
  kill,
  killAndResume,
  type PoolRow,
  pause,
  reconnect,
  reload,
  resume,
  type SocketRow,
  type StatsRow,
  showClients,
  showConfig,
  showPools,
  showServers,
  showStats,
} from './pgbouncer-admin.ts';
export {
  type Backend,
  type BackendFilter,
  type BackendState,
  countServerConnections,
  listBackends,
  pgbouncerServerBackends,
  type TerminateOptions,
  terminateBackends,
  waitForBackends,
} from './postgres-faults.ts';
export { type FenceTimings, fenceReadOnly } from './read-only-fence.ts';
export { type ProxyMode, type ProxyOptions, startProxy, type TcpProxy } from './tcp-proxy.ts';
