/**
 * The app's environment as its dev server sees it: `process.env` first, then a `.env` file in the
 * working directory for what is not set (the same precedence as dotenv and Node's --env-file).
 * Node's own parser (util.parseEnv, Node ≥ 20.12) reads the file: no dotenv dependency.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

export function loadAppEnv(cwd: string, env: NodeJS.ProcessEnv): { env: Record<string, string | undefined>; envFile: string | null } {
  const file = path.join(cwd, '.env');
  if (!existsSync(file)) return { env: { ...env }, envFile: null };
  const fromFile = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  return { env: { ...fromFile, ...env }, envFile: file };
}
