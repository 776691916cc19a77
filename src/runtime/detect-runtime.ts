/**
 * Environment (and a few globals of the JavaScript runtime) → hosting platform. Pure: reads only
 * the map and the host description it is given; `currentHost()` is the one place that reads globals.
 *
 * The table is checked top to bottom and the first match wins, so a platform that runs on top of
 * another (and therefore also sets the other's variables) must come first:
 * - Vercel and Netlify functions run on AWS Lambda and set `AWS_LAMBDA_FUNCTION_NAME` too.
 * - Cloud Functions (2nd gen, and 1st gen on Node ≥ 10) run on Cloud Run and set `K_SERVICE` too.
 * - Lambda Managed Instances are Lambda too, with another execution model.
 * - Bun and Deno are JavaScript runtimes, not platforms: they count only when no platform matched
 *   (Bun on Vercel is `vercel`).
 */

export type Runtime =
  | 'cloudflare-workers'
  | 'vercel'
  | 'netlify'
  | 'lambda-managed-instances'
  | 'lambda'
  | 'deno-deploy'
  | 'cloud-run'
  | 'cloud-functions'
  | 'azure-functions'
  | 'railway'
  | 'fly'
  | 'render'
  | 'heroku'
  | 'bun'
  | 'deno'
  | 'local';

export interface RuntimeDetection {
  readonly runtime: Runtime;
  /** True when instances come and go with traffic (functions, scale-to-zero containers). */
  readonly serverless: boolean;
  /**
   * True when the runtime defaults to PgBouncer transaction mode: every serverless runtime, and
   * platforms whose long-lived replicas scale out behind one pooler (Railway).
   */
  readonly transactionModeByDefault: boolean;
  /** The environment variable (or global) that proved the runtime; `null` for `local`. */
  readonly evidence: string | null;
  /** What the runtime means for connections, in words (part of `config.reason`); null when nothing special. */
  readonly note: string | null;
  /** How the platform lets work outlive a response (read by src/lifecycle/); null where it has no such mechanism we use. */
  readonly lifecycle: PlatformLifecycle | null;
}

/**
 * A platform's way of keeping an instance up after the response: the request contexts it
 * publishes on `globalThis`, each `globalThis[Symbol.for(name)].get()` returning `{ waitUntil }`
 * (@vercel/functions' get-context.ts reads Vercel's; Next.js's `after()` reads `@next/request-context`,
 * which Netlify's Next.js runtime publishes: @netlify/plugin-nextjs `run/handlers/wait-until.cts`).
 */
export interface PlatformLifecycle {
  /** `Symbol.for` names of the request contexts, tried in order. */
  readonly requestContexts: readonly string[];
  /** Variables all set only in a running function (not during a build on the platform); empty: any detected instance. */
  readonly instanceVariables: readonly string[];
}

/** What the JavaScript runtime shows of itself, from its globals (see `currentHost()`). */
export interface RuntimeHost {
  /** `navigator.userAgent`: `Cloudflare-Workers` under workerd. */
  readonly userAgent?: string;
  /** `Bun.version`, on Bun. */
  readonly bunVersion?: string;
  /** `Deno.version.deno`, on Deno. */
  readonly denoVersion?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A signal returns the name of the variable (or global) that proves the platform, or null. */
type Signal = (env: Env, host: RuntimeHost) => string | null;

/** An empty string is treated as unset: `VERCEL=` in a `.env` file proves nothing. */
const isSet = (env: Env, name: string): boolean => {
  const value = env[name];
  return value !== undefined && value !== '';
};

/** The first of `names` that is set. */
const anyOf =
  (...names: string[]): Signal =>
  (env) =>
    names.find((name) => isSet(env, name)) ?? null;

/** `name` proves the platform only when every one of `alongside` is set as well. */
const withAll =
  (name: string, ...alongside: string[]): Signal =>
  (env) =>
    isSet(env, name) && alongside.every((other) => isSet(env, other)) ? name : null;

const firstOf =
  (...signals: Signal[]): Signal =>
  (env, host) => {
    for (const signal of signals) {
      const evidence = signal(env, host);
      if (evidence !== null) return evidence;
    }
    return null;
  };

/** Cloudflare documents `navigator.userAgent` as `Cloudflare-Workers` (developers.cloudflare.com/workers/runtime-apis/web-standards/#navigatoruseragent). */
const cloudflareWorkers: Signal = (_env, host) => (host.userAgent === 'Cloudflare-Workers' ? 'navigator.userAgent' : null);
const bun: Signal = (_env, host) => (host.bunVersion ? 'globalThis.Bun' : null);
const deno: Signal = (_env, host) => (host.denoVersion ? 'globalThis.Deno' : null);

/**
 * Lambda Managed Instances set `AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`; their Node.js
 * runtime runs the handler in worker threads, each serving many requests at once
 * (docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html).
 */
const lambdaManagedInstances: Signal = (env) =>
  env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances' ? 'AWS_LAMBDA_INITIALIZATION_TYPE' : null;

/** `AWS_EXECUTION_ENV` is also set on ECS/Fargate (`AWS_ECS_FARGATE`): only `AWS_Lambda_*` means Lambda. */
const lambdaExecutionEnv: Signal = (env) => (env.AWS_EXECUTION_ENV?.startsWith('AWS_Lambda_') ? 'AWS_EXECUTION_ENV' : null);

interface Platform {
  readonly runtime: Exclude<Runtime, 'local'>;
  readonly serverless: boolean;
  /** Defaults to `serverless`. */
  readonly transactionModeByDefault?: boolean;
  /** See RuntimeDetection.note. */
  readonly note?: string;
  readonly test: Signal;
  /** Defaults to none. */
  readonly lifecycle?: PlatformLifecycle;
}

const lifecycle = (requestContexts: string[], instanceVariables: string[] = []): PlatformLifecycle =>
  Object.freeze({ requestContexts: Object.freeze(requestContexts), instanceVariables: Object.freeze(instanceVariables) });

/** Adding a platform is one line. Order matters: see the file comment. */
const PLATFORMS: readonly Platform[] = [
  // No TCP pool may outlive a request there: withWorkerRequest scopes one to each request.
  {
    runtime: 'cloudflare-workers',
    serverless: true,
    note: 'connections and the Prisma client live for one request (withWorkerRequest), closed through ctx.waitUntil',
    test: cloudflareWorkers,
  },
  {
    runtime: 'vercel',
    serverless: true,
    test: anyOf('VERCEL', 'VERCEL_ENV', 'VERCEL_URL'),
    // `VERCEL_REGION` is absent during builds. Vercel's own context first; a Next.js app there may also see Next's.
    lifecycle: lifecycle(['@vercel/request-context', '@next/request-context'], ['VERCEL_URL', 'VERCEL_REGION']),
  },
  // Netlify documents `NETLIFY=true` for builds; at function runtime only `URL`, `SITE_NAME` and
  // `SITE_ID` are guaranteed (docs.netlify.com/build/functions/environment-variables), and those
  // names are too generic on their own, so they count only together with a Lambda variable.
  // `NETLIFY_DEV` (set by `netlify dev` on a laptop) is deliberately not a signal: that is local.
  {
    runtime: 'netlify',
    serverless: true,
    test: firstOf(anyOf('NETLIFY'), withAll('SITE_ID', 'SITE_NAME', 'AWS_LAMBDA_FUNCTION_NAME')),
    // Netlify's Next.js runtime publishes Next's request context; a plain Netlify function passes its
    // `context` through runWithRequestContext (src/lifecycle/request-context-scope.ts).
    lifecycle: lifecycle(['@next/request-context']),
  },
  // Before plain Lambda, whose variables it sets too.
  {
    runtime: 'lambda-managed-instances',
    serverless: true,
    note: 'each worker thread keeps its own pool and serves many requests at once (count every thread in INSTANCE_COUNT)',
    test: lambdaManagedInstances,
  },
  { runtime: 'lambda', serverless: true, test: firstOf(anyOf('AWS_LAMBDA_FUNCTION_NAME'), lambdaExecutionEnv, anyOf('LAMBDA_TASK_ROOT')) },
  // Before Cloud Run: Cloud Functions set K_SERVICE too. `FUNCTION_NAME` + `GCP_PROJECT` is 1st gen on old runtimes.
  { runtime: 'cloud-functions', serverless: true, test: firstOf(anyOf('FUNCTION_TARGET'), withAll('FUNCTION_NAME', 'GCP_PROJECT')) },
  { runtime: 'cloud-run', serverless: true, test: anyOf('K_SERVICE') },
  // `WEBSITE_INSTANCE_ID` alone is any Azure App Service; the Functions host adds `FUNCTIONS_EXTENSION_VERSION`.
  {
    runtime: 'azure-functions',
    serverless: true,
    test: firstOf(anyOf('FUNCTIONS_WORKER_RUNTIME'), withAll('WEBSITE_INSTANCE_ID', 'FUNCTIONS_EXTENSION_VERSION')),
  },
  // Railway runs long-lived containers, not functions, but its replicas scale out behind one
  // pooler, so it defaults to transaction mode as serverless runtimes do.
  {
    runtime: 'railway',
    serverless: false,
    transactionModeByDefault: true,
    test: anyOf('RAILWAY_ENVIRONMENT', 'RAILWAY_PROJECT_ID', 'RAILWAY_SERVICE_ID'),
  },
  // Deno Deploy runs isolates that come and go with traffic (docs.deno.com/deploy/reference/env_vars_and_contexts/).
  { runtime: 'deno-deploy', serverless: true, test: anyOf('DENO_DEPLOYMENT_ID') },
  // Long-running containers: session mode unless USE_TRANSACTION_MODE forces otherwise.
  { runtime: 'fly', serverless: false, test: anyOf('FLY_APP_NAME', 'FLY_MACHINE_ID') },
  { runtime: 'render', serverless: false, test: anyOf('RENDER', 'RENDER_SERVICE_ID') },
  { runtime: 'heroku', serverless: false, test: anyOf('DYNO') },
  // Last: a JavaScript runtime with no platform detected is a process like a local Node one.
  { runtime: 'bun', serverless: false, note: 'no hosting platform detected', test: bun },
  { runtime: 'deno', serverless: false, note: 'no hosting platform detected', test: deno },
];

const LOCAL: RuntimeDetection = Object.freeze({
  runtime: 'local',
  serverless: false,
  transactionModeByDefault: false,
  evidence: null,
  note: null,
  lifecycle: null,
});

/** The running runtime's globals, read defensively (any of them may be absent or odd). */
export function currentHost(): RuntimeHost {
  const g = globalThis as {
    navigator?: { userAgent?: unknown };
    Bun?: { version?: unknown };
    Deno?: { version?: { deno?: unknown } };
  };
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  return Object.freeze({
    userAgent: text(g.navigator?.userAgent),
    bunVersion: text(g.Bun?.version),
    denoVersion: text(g.Deno?.version?.deno),
  });
}

/** The platform from `env` and, for Workers, Bun and Deno, from `host` (defaults to this runtime's globals). */
export function detectRuntime(env: Env, host: RuntimeHost = currentHost()): RuntimeDetection {
  for (const { runtime, serverless, transactionModeByDefault = serverless, note, test, lifecycle = null } of PLATFORMS) {
    const evidence = test(env, host);
    if (evidence !== null) return Object.freeze({ runtime, serverless, transactionModeByDefault, evidence, note: note ?? null, lifecycle });
  }
  return LOCAL;
}
