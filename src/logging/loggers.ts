/**
 * The two `debug` namespaces (`DEBUG=ConnectionPoolManager,DatabasePooling`). Callers pass only
 * redacted URLs and never query parameter values: nothing here redacts for them.
 */
import createDebug from 'debug';

/** Lifecycle: mode decision, pool creation, disconnect, health changes. */
export const managerLog = createDebug('ConnectionPoolManager');
/** Per operation: retries with kind and delay, commit ambiguity, load shedding. */
export const poolingLog = createDebug('DatabasePooling');
