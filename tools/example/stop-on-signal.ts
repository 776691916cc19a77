/**
 * Ctrl-C / SIGTERM for the example runners: stop the app once (`stop` resolves with the exit code).
 * With a local stack, its own signal handler (installed by startStack) stops Postgres and PgBouncer,
 * removes its files and exits; without one (`withStack` false), this exits with `stop`'s code.
 * Prepended, so the app stops before the stack's handler runs.
 */
export function stopOnSignal(options: {
  log: (line: string) => void;
  withStack: boolean;
  stop: (signal: NodeJS.Signals) => Promise<number>;
}): { readonly stopping: boolean } {
  const state = { stopping: false };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.prependListener(signal, () => {
      if (state.stopping) return;
      state.stopping = true;
      options.log(`${signal}: stopping`);
      void options.stop(signal).then((code) => {
        if (!options.withStack) process.exit(code);
      });
    });
  }
  return state;
}
