/**
 * The layer rule in biome.json (noRestrictedImports): test → tools → src, examples → the package.
 * Each row writes one import into a scratch tree that has this repository's biome.json, at the path
 * the row names, and reads Biome's verdict on it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const biome = path.join(root, 'node_modules/.bin/biome');

function lint(file: string, source: string): { restricted: boolean; output: string } {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ppp-layers-'));
  try {
    copyFileSync(path.join(root, 'biome.json'), path.join(scratch, 'biome.json'));
    mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
    writeFileSync(path.join(scratch, file), source);
    const result = spawnSync(biome, ['lint', '--vcs-enabled=false', file], { cwd: scratch, encoding: 'utf8' });
    const output = `${result.stdout}${result.stderr}`;
    return { restricted: output.includes('noRestrictedImports'), output };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe('one-way layers', () => {
  it.each([
    ['src/pool/x.ts', "import { startStack } from '../../tools/stack/start-stack.ts';", true],
    ['src/pool/x.ts', "import { sql } from '../../test/support/managers.ts';", true],
    ['src/pool/x.ts', "import '../../scripts/test-connection-pooling.ts';", true],
    ['tools/bench/x.ts', "import { sql } from '../../test/support/managers.ts';", true],
    ['examples/remix-app/app/x.ts', "import { classifyError } from '../../../src/errors/classify-error.ts';", true],
    ['examples/remix-app/app/x.ts', "import { startStack } from '../../../tools/stack/start-stack.ts';", true],
    ['src/pool/x.ts', "import { classifyError } from '../errors/classify-error.ts';", false],
    ['tools/bench/x.ts', "import { classifyError } from '../../src/errors/classify-error.ts';", false],
    ['test/unit/x.test.ts', "import { startStack } from '../../tools/stack/start-stack.ts';", false],
    ['examples/remix-app/app/x.ts', "import { healthLoader } from 'prisma-pgbouncer-pooling';", false],
  ])('%s: %s → restricted %s', (file, line, restricted) => {
    const result = lint(file, `${line}\nexport const used = 1;\n`);
    expect(result.restricted, result.output).toBe(restricted);
  });
});
