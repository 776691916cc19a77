/** Types of serve.mjs, for tools/example/worker.ts (which serves the built Worker). */
export declare const COMPATIBILITY_DATE: string;
export declare function startWorker(options: {
  port?: number;
  host?: string;
  /** The Hyperdrive binding's local connection string (with a password). */
  databaseUrl: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Build dist/ first. Defaults to true. */
  build?: boolean;
  log?: (line: string) => void;
}): Promise<{ url: string; close(): Promise<void> }>;
