// Runs `prisma generate` with no network. Prisma 7's generate does not need the schema
// engine, but the CLI tries to download it unless PRISMA_SCHEMA_ENGINE_BINARY names an
// executable; any executable will do because generate never calls it (verified with Prisma 7.10).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const fallback = ['/bin/true', '/usr/bin/true'].find((p) => existsSync(p)) ?? process.execPath;
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fallback };
const result = spawnSync('prisma', ['generate'], { stdio: 'inherit', env, shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
