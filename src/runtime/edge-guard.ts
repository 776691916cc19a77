/**
 * Imported first by src/index.ts, for its side effect: on an edge runtime the import of the package
 * fails here, before `pg` (whose first use there would be a stack trace about a missing `net`).
 * Built as its own file that the entry imports first (scripts/build.mjs) and listed in package.json's
 * `sideEffects`, so that an app's bundler keeps it and runs it before the entry's own imports.
 */
import { assertTcpRuntime } from './edge-runtime.ts';

assertTcpRuntime();
