/**
 * docs/reference.md cannot drift: it must be exactly what `npm run docs:reference` generates from
 * the source, and it must name everything the package exports.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildReference } from '../../../tools/docs/build-reference.ts';

const read = (file: string) => readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');

/** The names src/index.ts exports, read from its text (not through the generator being tested). */
function indexExports(): string[] {
  const names: string[] = [];
  for (const m of read('src/index.ts').matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from/g)) {
    for (const part of (m[1] ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop();
      if (name) names.push(name);
    }
  }
  return names;
}

describe('docs/reference.md', () => {
  it('is what `npm run docs:reference` generates from the source (run it and commit the page when this fails)', () => {
    expect(read('docs/reference.md')).toBe(buildReference());
  });

  it('names every export of the package', () => {
    const page = read('docs/reference.md');
    const names = indexExports();
    expect(names.length).toBeGreaterThan(50);
    expect(names.filter((name) => !page.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it('lists every warning code, error class and Prometheus family the code has', async () => {
    const page = read('docs/reference.md');
    const errors = await import('../../../src/errors/errors.ts');
    for (const name of Object.keys(errors)) expect(page).toContain(`| \`${name}\` |`);
    for (const code of read('src/logging/config-warnings.ts').match(/PGPOOL_[A-Z_]+/g) ?? []) expect(page).toContain(`\`${code}\``);
    for (const family of read('src/metrics/prometheus.ts').match(/n\('[a-z_]+'\)/g) ?? []) {
      expect(page).toContain(`\`pgpool_${family.slice(3, -2)}\``);
    }
  });
});
