/**
 * The app's environment as its dev server sees it. `process.env` wins; then, first file first, the
 * files Next.js and Vite read:
 *   .env.<NODE_ENV>.local, .env.local (not when NODE_ENV=test), .env.<NODE_ENV>, .env
 * https://nextjs.org/docs/app/guides/environment-variables#environment-variable-load-order
 * https://vite.dev/guide/env-and-mode#env-files
 * `NODE_ENV` defaults to `development`, the mode of `next dev` and `vite`. `vercel env pull` writes
 * `.env.local`, so a `DATABASE_URL` that only that file holds is found.
 * Node's own parser (util.parseEnv, Node ≥ 20.12) reads the files: no dotenv dependency. Like Node's
 * `--env-file`, `$VAR` references are not expanded (Next.js expands them; a URL rarely uses one).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

export interface AppEnv {
  /** The merged environment. */
  readonly env: Record<string, string | undefined>;
  /** The env files that exist, in precedence order (names relative to the working directory). */
  readonly files: readonly string[];
  /** For each variable: `process.env` or the file name it came from. */
  readonly sources: Readonly<Record<string, string>>;
  /** The `NODE_ENV` the file names were chosen for. */
  readonly nodeEnv: string;
}

/** The env file names for a `NODE_ENV`, first wins. */
export function envFileNames(nodeEnv: string): string[] {
  return [`.env.${nodeEnv}.local`, ...(nodeEnv === 'test' ? [] : ['.env.local']), `.env.${nodeEnv}`, '.env'];
}

export function loadAppEnv(cwd: string, processEnv: NodeJS.ProcessEnv): AppEnv {
  const given = processEnv.NODE_ENV?.trim() ?? '';
  const nodeEnv = given === '' ? 'development' : given;
  const env: Record<string, string | undefined> = {};
  const sources: Record<string, string> = {};
  const files: string[] = [];
  for (const name of envFileNames(nodeEnv)) {
    const file = path.join(cwd, name);
    if (!existsSync(file)) continue;
    files.push(name);
    const values = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
    for (const [key, value] of Object.entries(values)) {
      if (key in env) continue;
      env[key] = value;
      sources[key] = name;
    }
  }
  for (const [key, value] of Object.entries(processEnv)) {
    if (value === undefined) continue;
    env[key] = value;
    sources[key] = 'process.env';
  }
  return { env, files, sources, nodeEnv };
}
