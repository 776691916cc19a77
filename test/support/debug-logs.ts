/** Captures the `debug` output of some namespaces between `start()` and `stop()`, restoring what was enabled. */
import { format } from 'node:util';
import createDebug from 'debug';

export function debugCapture(namespaces: string): { readonly lines: string[]; start(): void; stop(): void } {
  const lines: string[] = [];
  const previousLog = createDebug.log;
  let previousNamespaces = '';
  return {
    lines,
    start() {
      previousNamespaces = createDebug.disable();
      createDebug.enable(namespaces);
      createDebug.log = (...args: unknown[]) => {
        lines.push(format(...args));
      };
    },
    stop() {
      createDebug.log = previousLog;
      createDebug.disable();
      if (previousNamespaces) createDebug.enable(previousNamespaces);
    },
  };
}
