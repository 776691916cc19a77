/**
 * Node built-ins, fetched where they are used with `process.getBuiltinModule` (Node ≥ 20.16, Bun,
 * Deno 2, workerd with `nodejs_compat`) instead of imported statically.
 *
 * Why: for each `import … from 'node:x'` in an ES module, Node builds a facade module holding every
 * export of `node:x` when the importer is linked, and building it reads every getter: `node:tls`
 * loads its root certificates (`tls.rootCertificates`), `node:crypto` its WebCrypto (`crypto.webcrypto`).
 * In a consumer app on Node 20 that was about 5 ms of the package's 19 ms import, median of 31 fresh
 * processes (the cold-start section of docs/benchmarks.md measures the import as a whole). The
 * package uses these modules only on some paths (TLS files, the `sslmode=prefer` probe, named
 * statements, a retry's pause), so it takes them there. `getBuiltinModule` returns the module
 * itself (what `require` would), with no facade: https://nodejs.org/api/process.html#processgetbuiltinmoduleid
 *
 * Types only are imported here (`import type` is erased at build time).
 */
import type * as AsyncHooks from 'node:async_hooks';
import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs';
import type * as Module from 'node:module';
import type * as Net from 'node:net';
import type * as Stream from 'node:stream';
import type * as TimersPromises from 'node:timers/promises';
import type * as Tls from 'node:tls';
import { IncompatibleDependencyError } from '../errors/errors.ts';

interface Builtins {
  'node:async_hooks': typeof AsyncHooks;
  'node:crypto': typeof Crypto;
  'node:fs': typeof Fs;
  'node:module': typeof Module;
  'node:net': typeof Net;
  'node:stream': typeof Stream;
  'node:timers/promises': typeof TimersPromises;
  'node:tls': typeof Tls;
}

type GetBuiltinModule = (id: string) => unknown;

/** `id`'s module; an `IncompatibleDependencyError` (kind `dependency`) where the runtime has no such built-in. */
export function nodeBuiltin<K extends keyof Builtins>(id: K): Builtins[K] {
  const get = (globalThis.process as { getBuiltinModule?: GetBuiltinModule } | undefined)?.getBuiltinModule;
  const module = typeof get === 'function' ? get.call(globalThis.process, id) : undefined;
  if (module === undefined || module === null) {
    throw new IncompatibleDependencyError(
      'the JavaScript runtime',
      `process.getBuiltinModule('${id}')`,
      typeof get === 'function'
        ? `this runtime has no ${id} (on workerd: nodejs_compat with a newer compatibility date)`
        : 'run on Node.js ≥ 20.16, Bun, Deno 2, or workerd with nodejs_compat',
    );
  }
  return module as Builtins[K];
}
