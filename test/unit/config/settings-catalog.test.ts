/**
 * The catalog the reference page is generated from names every environment variable and URL
 * parameter the source reads, and nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PRISMA_ONLY_PARAMS } from '../../../src/config/database-url.ts';
import { HOST_LIST_PARAMS } from '../../../src/config/host-list.ts';
import { ENVIRONMENT_VARIABLES, URL_PARAMETERS } from '../../../src/config/settings-catalog.ts';
import { TCP_URL_PARAMS } from '../../../src/config/tcp-settings.ts';
import { TLS_URL_PARAMS } from '../../../src/config/tls-options.ts';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

function sources(dir = SRC): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sources(file);
    return entry.name.endsWith('.ts') && entry.name !== 'settings-catalog.ts' ? [{ file, text: readFileSync(file, 'utf8') }] : [];
  });
}

/** Variables platform detection reads: listed on the page from detect-runtime.ts itself. */
const detection = new Set(
  readFileSync(path.join(SRC, 'runtime/detect-runtime.ts'), 'utf8')
    .match(/'[A-Z][A-Z0-9_]+'/g)
    ?.map((s) => s.slice(1, -1)) ?? [],
);

describe('settings catalog', () => {
  it('every variable the source reads from an environment is in ENVIRONMENT_VARIABLES', () => {
    const read = new Set<string>();
    for (const { text } of sources()) {
      // env.NAME, env['NAME'], helper(env, 'NAME'), and the variable lists of env-urls.ts.
      for (const m of text.matchAll(/\benv(?:\?)?\.([A-Z][A-Z0-9_]+)\b/g)) read.add(m[1] as string);
      for (const m of text.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) read.add(m[1] as string);
      for (const m of text.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)) read.add(m[1] as string);
      for (const m of text.matchAll(/_VARIABLES?\s*=\s*(?:Object\.freeze\()?\[([^\]]*)\]/g)) {
        for (const name of (m[1] ?? '').match(/'([A-Z][A-Z0-9_]+)'/g) ?? []) read.add(name.slice(1, -1));
      }
      for (const m of text.matchAll(/_VARIABLE\s*=\s*'([A-Z][A-Z0-9_]+)'/g)) read.add(m[1] as string);
    }
    const documented = new Set(ENVIRONMENT_VARIABLES.map((v) => v.name));
    const missing = [...read].filter((name) => !documented.has(name) && !detection.has(name));
    expect(read.size).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('every documented variable appears in the source (no stale rows)', () => {
    const all = sources()
      .map((s) => s.text)
      .join('\n');
    expect(ENVIRONMENT_VARIABLES.filter((v) => !all.includes(v.name)).map((v) => v.name)).toEqual([]);
  });

  it('URL_PARAMETERS is exactly the parameters the URL code reads or strips', () => {
    const read = new Set<string>([...PRISMA_ONLY_PARAMS, ...TLS_URL_PARAMS, ...HOST_LIST_PARAMS, ...TCP_URL_PARAMS]);
    for (const { text } of sources()) for (const m of text.matchAll(/getParam\([^,]+,\s*'([a-z_]+)'/g)) read.add(m[1] as string);
    expect(URL_PARAMETERS.map((p) => p.name).sort()).toEqual([...read].sort());
  });

  it('no duplicate rows, every row says something', () => {
    for (const table of [ENVIRONMENT_VARIABLES, URL_PARAMETERS]) {
      expect(new Set(table.map((r) => r.name)).size).toBe(table.length);
      for (const row of table) expect(row.meaning.length).toBeGreaterThan(10);
    }
  });
});
