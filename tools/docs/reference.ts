/**
 * `npm run docs:reference`: writes docs/reference.md from the source (tools/docs/build-reference.ts).
 * `--check`: writes nothing, exits 1 when the committed page differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildReference } from './build-reference.ts';

const file = fileURLToPath(new URL('../../docs/reference.md', import.meta.url));
const page = buildReference();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (current !== page) {
    console.error('docs/reference.md is out of date: run npm run docs:reference');
    process.exitCode = 1;
  }
} else {
  writeFileSync(file, page);
  console.log(`wrote docs/reference.md (${page.split('\n').length} lines)`);
}
