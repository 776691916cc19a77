/**
 * The layers of src/ (docs/development.md, "Layers") are enforced by the lint config: an import up a
 * layer, or pg/Prisma in a pure folder, fails `npm run lint`. Checked by running Biome with this
 * repository's biome.json on probe files in a scratch copy of the folder layout (the repository is
 * not touched).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'layer-lint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const config = JSON.parse(readFileSync(path.join(root, 'biome.json'), 'utf8'));
config.vcs = { enabled: false };
writeFileSync(path.join(scratch, 'biome.json'), JSON.stringify(config));

function lint(file: string, source: string): string {
  const target = path.join(scratch, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, source);
  try {
    execFileSync(path.join(root, 'node_modules/.bin/biome'), ['lint', '--config-path', scratch, target], { cwd: scratch, stdio: 'pipe' });
    return '';
  } catch (error) {
    return String((error as { stdout?: Buffer }).stdout ?? '') + String((error as { stderr?: Buffer }).stderr ?? '');
  }
}

describe('layer rules in biome.json', () => {
  it.each([
    ['src/pool/probe.ts', "import type { X } from '../manager/types.ts';\nexport type Y = X;\n", 'imports only the layers below it'],
    ['src/extension/probe.ts', "import type { X } from '../manager/types.ts';\nexport type Y = X;\n", 'imports only the layers below it'],
    [
      'src/call/probe.ts',
      "import type { X } from '../extension/client-extension.ts';\nexport type Y = X;\n",
      'imports only the layers below it',
    ],
    ['src/metrics/probe.ts', "import pg from 'pg';\nexport const y = pg;\n", 'is pure'],
    ['src/call/probe.ts', "import type { X } from '@prisma/client';\nexport type Y = X;\n", 'is pure'],
  ])('%s: refused (%s)', (file, source, message) => {
    expect(lint(file, source)).toContain(message);
  });

  it.each([
    ['src/manager/probe.ts', "import type { X } from '../call/call-plan.ts';\nexport type Y = X;\n"],
    ['src/call/probe.ts', "import type { X } from '../transaction/retry.ts';\nexport type Y = X;\n"],
    ['src/pool/probe.ts', "import pg from 'pg';\nexport const y = pg;\n"],
  ])('%s: a downward import passes', (file, source) => {
    expect(lint(file, source)).toBe('');
  });
});
