import { describe, expect, it } from 'vitest';
import { currentHost, detectRuntime, type Runtime, type RuntimeHost } from '../../../src/runtime/detect-runtime.ts';

/** No Workers, Bun or Deno globals: what these tables run under, whatever runs the tests. */
const NODE: RuntimeHost = {};

type Case = [name: string, env: Record<string, string>, runtime: Runtime, evidence: string | null];

describe('detectRuntime: one row per signal', () => {
  const cases: Case[] = [
    ['VERCEL', { VERCEL: '1' }, 'vercel', 'VERCEL'],
    ['VERCEL_ENV', { VERCEL_ENV: 'production' }, 'vercel', 'VERCEL_ENV'],
    ['VERCEL_URL', { VERCEL_URL: 'app-abc.vercel.app' }, 'vercel', 'VERCEL_URL'],
    ['NETLIFY', { NETLIFY: 'true' }, 'netlify', 'NETLIFY'],
    ['Netlify function runtime', { SITE_ID: 'id', SITE_NAME: 'pets', AWS_LAMBDA_FUNCTION_NAME: 'fn' }, 'netlify', 'SITE_ID'],
    ['AWS_LAMBDA_FUNCTION_NAME', { AWS_LAMBDA_FUNCTION_NAME: 'fn' }, 'lambda', 'AWS_LAMBDA_FUNCTION_NAME'],
    ['AWS_EXECUTION_ENV=AWS_Lambda_*', { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x' }, 'lambda', 'AWS_EXECUTION_ENV'],
    ['LAMBDA_TASK_ROOT', { LAMBDA_TASK_ROOT: '/var/task' }, 'lambda', 'LAMBDA_TASK_ROOT'],
    ['FUNCTION_TARGET', { FUNCTION_TARGET: 'handler' }, 'cloud-functions', 'FUNCTION_TARGET'],
    ['FUNCTION_NAME + GCP_PROJECT (1st gen)', { FUNCTION_NAME: 'fn', GCP_PROJECT: 'p' }, 'cloud-functions', 'FUNCTION_NAME'],
    ['K_SERVICE', { K_SERVICE: 'api' }, 'cloud-run', 'K_SERVICE'],
    ['FUNCTIONS_WORKER_RUNTIME', { FUNCTIONS_WORKER_RUNTIME: 'node' }, 'azure-functions', 'FUNCTIONS_WORKER_RUNTIME'],
    [
      'WEBSITE_INSTANCE_ID + FUNCTIONS_EXTENSION_VERSION',
      { WEBSITE_INSTANCE_ID: 'abc', FUNCTIONS_EXTENSION_VERSION: '~4' },
      'azure-functions',
      'WEBSITE_INSTANCE_ID',
    ],
    ['RAILWAY_ENVIRONMENT', { RAILWAY_ENVIRONMENT: 'production' }, 'railway', 'RAILWAY_ENVIRONMENT'],
    ['RAILWAY_PROJECT_ID', { RAILWAY_PROJECT_ID: 'p' }, 'railway', 'RAILWAY_PROJECT_ID'],
    ['RAILWAY_SERVICE_ID', { RAILWAY_SERVICE_ID: 's' }, 'railway', 'RAILWAY_SERVICE_ID'],
    ['FLY_APP_NAME', { FLY_APP_NAME: 'app' }, 'fly', 'FLY_APP_NAME'],
    ['FLY_MACHINE_ID', { FLY_MACHINE_ID: 'm' }, 'fly', 'FLY_MACHINE_ID'],
    ['RENDER', { RENDER: 'true' }, 'render', 'RENDER'],
    ['RENDER_SERVICE_ID', { RENDER_SERVICE_ID: 'srv' }, 'render', 'RENDER_SERVICE_ID'],
    ['DYNO', { DYNO: 'web.1' }, 'heroku', 'DYNO'],
    [
      'AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances',
      { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' },
      'lambda-managed-instances',
      'AWS_LAMBDA_INITIALIZATION_TYPE',
    ],
    ['DENO_DEPLOYMENT_ID', { DENO_DEPLOYMENT_ID: 'abc123' }, 'deno-deploy', 'DENO_DEPLOYMENT_ID'],
  ];
  it.each(cases)('%s', (_name, env, runtime, evidence) => {
    expect(detectRuntime(env, NODE)).toEqual({
      runtime,
      evidence,
      serverless: expect.any(Boolean),
      transactionModeByDefault: expect.any(Boolean),
      note: runtime === 'lambda-managed-instances' ? expect.stringContaining('worker thread') : null,
      lifecycle: runtime === 'vercel' || runtime === 'netlify' ? expect.any(Object) : null,
    });
  });
});

describe('detectRuntime: precedence when one platform runs on another', () => {
  const cases: Case[] = [
    ['Vercel functions also set Lambda variables', { VERCEL: '1', AWS_LAMBDA_FUNCTION_NAME: 'fn' }, 'vercel', 'VERCEL'],
    ['Netlify functions run on Lambda', { NETLIFY: 'true', AWS_LAMBDA_FUNCTION_NAME: 'fn', LAMBDA_TASK_ROOT: '/x' }, 'netlify', 'NETLIFY'],
    ['Cloud Functions gen2 also set K_SERVICE', { K_SERVICE: 'fn', FUNCTION_TARGET: 'handler' }, 'cloud-functions', 'FUNCTION_TARGET'],
    ['the first matching variable of a platform is the evidence', { VERCEL_URL: 'x', VERCEL_ENV: 'preview' }, 'vercel', 'VERCEL_ENV'],
  ];
  it.each(cases)('%s', (_name, env, runtime, evidence) => {
    expect(detectRuntime(env, NODE)).toMatchObject({ runtime, evidence });
  });
});

describe('detectRuntime: what the JavaScript runtime shows of itself', () => {
  const cases: [name: string, env: Record<string, string>, host: RuntimeHost, runtime: Runtime, evidence: string][] = [
    ['workerd', {}, { userAgent: 'Cloudflare-Workers' }, 'cloudflare-workers', 'navigator.userAgent'],
    [
      'workerd wins over variables a Worker copied from elsewhere',
      { VERCEL: '1' },
      { userAgent: 'Cloudflare-Workers' },
      'cloudflare-workers',
      'navigator.userAgent',
    ],
    ['Bun with no platform', {}, { bunVersion: '1.4.5' }, 'bun', 'globalThis.Bun'],
    ['Deno with no platform', {}, { denoVersion: '2.9.6' }, 'deno', 'globalThis.Deno'],
    ['Bun on Vercel is Vercel', { VERCEL: '1' }, { bunVersion: '1.4.5' }, 'vercel', 'VERCEL'],
    ['Deno on Deno Deploy is Deno Deploy', { DENO_DEPLOYMENT_ID: 'x' }, { denoVersion: '2.9.6' }, 'deno-deploy', 'DENO_DEPLOYMENT_ID'],
    [
      'Managed Instances before plain Lambda',
      { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances', AWS_LAMBDA_FUNCTION_NAME: 'fn' },
      {},
      'lambda-managed-instances',
      'AWS_LAMBDA_INITIALIZATION_TYPE',
    ],
    [
      'on-demand Lambda stays Lambda',
      { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', AWS_LAMBDA_FUNCTION_NAME: 'fn' },
      {},
      'lambda',
      'AWS_LAMBDA_FUNCTION_NAME',
    ],
  ];
  it.each(cases)('%s', (_name, env, host, runtime, evidence) => {
    expect(detectRuntime(env, host)).toMatchObject({ runtime, evidence });
  });

  it('a browser-like or Node user agent is not Workers', () => {
    expect(detectRuntime({}, { userAgent: 'Node.js/20' }).runtime).toBe('local');
    expect(detectRuntime({}, { userAgent: 'Mozilla/5.0' }).runtime).toBe('local');
  });

  it('currentHost() under Node shows neither Bun, Deno nor workerd', () => {
    const host = currentHost();
    expect(host.bunVersion).toBeUndefined();
    expect(host.denoVersion).toBeUndefined();
    expect(host.userAgent).not.toBe('Cloudflare-Workers');
    expect(Object.isFrozen(host)).toBe(true);
  });
});

describe('detectRuntime: things that are not proof', () => {
  const cases: [string, Record<string, string | undefined>][] = [
    ['an empty environment', {}],
    ['empty-string values', { VERCEL: '', K_SERVICE: '', DYNO: '', AWS_EXECUTION_ENV: '', RAILWAY_ENVIRONMENT: '' }],
    ['undefined values', { VERCEL: undefined, FLY_APP_NAME: undefined }],
    ['AWS_EXECUTION_ENV on ECS', { AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE' }],
    ['Azure App Service without the Functions host', { WEBSITE_INSTANCE_ID: 'abc' }],
    ['FUNCTION_NAME alone', { FUNCTION_NAME: 'fn' }],
    ['Netlify site variables without Lambda', { SITE_ID: 'id', SITE_NAME: 'pets' }],
    ['netlify dev on a laptop', { NETLIFY_DEV: 'true' }],
    ['unrelated variables', { HOME: '/root', NODE_ENV: 'production', DATABASE_URL: 'postgres://h/db' }],
  ];
  it.each(cases)('%s → local', (_name, env) => {
    expect(detectRuntime(env, NODE)).toEqual({
      runtime: 'local',
      serverless: false,
      transactionModeByDefault: false,
      evidence: null,
      note: null,
      lifecycle: null,
    });
  });
});

describe('detectRuntime: serverless classification', () => {
  const cases: [Runtime, Record<string, string>, boolean, boolean][] = [
    ['vercel', { VERCEL: '1' }, true, true],
    ['netlify', { NETLIFY: 'true' }, true, true],
    ['lambda', { AWS_LAMBDA_FUNCTION_NAME: 'fn' }, true, true],
    ['cloud-run', { K_SERVICE: 's' }, true, true],
    ['cloud-functions', { FUNCTION_TARGET: 'h' }, true, true],
    ['azure-functions', { FUNCTIONS_WORKER_RUNTIME: 'node' }, true, true],
    // Long-lived containers, but replicas scale out behind one pooler.
    ['railway', { RAILWAY_ENVIRONMENT: 'production' }, false, true],
    ['fly', { FLY_APP_NAME: 'a' }, false, false],
    ['render', { RENDER: 'true' }, false, false],
    ['heroku', { DYNO: 'web.1' }, false, false],
    ['lambda-managed-instances', { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' }, true, true],
    ['deno-deploy', { DENO_DEPLOYMENT_ID: 'x' }, true, true],
    ['local', {}, false, false],
  ];
  it.each(cases)('%s → serverless %s, transaction mode by default %s', (runtime, env, serverless, transactionModeByDefault) => {
    expect(detectRuntime(env, NODE)).toMatchObject({ runtime, serverless, transactionModeByDefault });
  });

  const hosts: [Runtime, RuntimeHost, boolean][] = [
    ['cloudflare-workers', { userAgent: 'Cloudflare-Workers' }, true],
    ['bun', { bunVersion: '1.4.5' }, false],
    ['deno', { denoVersion: '2.9.6' }, false],
  ];
  it.each(hosts)('%s → serverless %s', (runtime, host, serverless) => {
    expect(detectRuntime({}, host)).toMatchObject({ runtime, serverless, transactionModeByDefault: serverless });
  });

  it('returns a frozen result', () => {
    expect(Object.isFrozen(detectRuntime({ VERCEL: '1' }, NODE))).toBe(true);
    expect(Object.isFrozen(detectRuntime({}, NODE))).toBe(true);
    expect(Object.isFrozen(detectRuntime({}, { bunVersion: '1.4.5' }))).toBe(true);
  });
});
