/**
 * Is this process a running function of a platform with a lifecycle (not a build on it)? Read from
 * the platform's entry in src/runtime/detect-runtime.ts. Pure: config uses it for the idle default.
 */
import { detectRuntime, type RuntimeDetection } from './detect-runtime.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** True when the detected platform has a lifecycle and every one of its instance variables is set. */
export function isFunctionInstance(detection: RuntimeDetection, env: Env): boolean {
  const lifecycle = detection.lifecycle;
  return lifecycle?.instanceVariables.every((name) => Boolean(env[name])) ?? false;
}

/** True in a running Vercel function (not at build time): `VERCEL_URL` and `VERCEL_REGION` are both set. */
export function isVercelFunctionInstance(env: Env): boolean {
  const detection = detectRuntime(env);
  return detection.runtime === 'vercel' && isFunctionInstance(detection, env);
}
