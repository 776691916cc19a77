/** Types of build.mjs. */
export declare function buildWorker(): Promise<{ script: string; dir: string }>;
