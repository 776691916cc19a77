/**
 * Imported first by src/index.ts, for its side effect: on an edge runtime the import of the package
 * fails here, before `pg` (whose first use there would be a stack trace about a missing `net`).
 * The bundled entry that holds it is listed in package.json's `sideEffects`, so that bundlers keep it.
 */
import { assertTcpRuntime } from './edge-runtime.ts';

assertTcpRuntime();
