/** Types of server.mjs, for tools/example/run-example.ts (which serves the built app). */
export declare const buildDir: string;
export declare function startServer(options?: { port?: number; host?: string; dir?: string }): Promise<{
  port: number;
  close(): Promise<void>;
}>;
