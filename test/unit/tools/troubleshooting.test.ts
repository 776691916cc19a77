/**
 * docs/troubleshooting.md carries every error text users paste, and every warning code the package
 * emits, in a heading, so a search of the docs finds its fix (tools/docs/troubleshooting-texts.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_TEXTS, missingFromHeadings, warningCodes } from '../../../tools/docs/troubleshooting-texts.ts';
import { REPO_ROOT } from '../../../tools/lib/markers.ts';

const page = readFileSync(path.join(REPO_ROOT, 'docs/troubleshooting.md'), 'utf8');

describe('docs/troubleshooting.md', () => {
  it('has a heading for each error text and each PGPOOL_ warning code', () => {
    const codes = warningCodes();
    expect(codes).toContain('PGPOOL_TLS_UNVERIFIED');
    expect(codes).toContain('PGPOOL_CONFIG');
    expect(missingFromHeadings(page, [...ERROR_TEXTS, ...codes])).toEqual([]);
  });

  it('reports a text that is only in the body, or missing, as missing', () => {
    const markdown = '# Troubleshooting\n\n## `ENETUNREACH` (IPv6)\n\nTenant or user not found is in a paragraph only.\n';
    expect(missingFromHeadings(markdown, ['ENETUNREACH', 'Tenant or user not found', 'ECONNREFUSED'])).toEqual([
      'Tenant or user not found',
      'ECONNREFUSED',
    ]);
  });

  it('reads the warning codes from the table that assigns them', () => {
    const source = "const CODES = [[/a/, 'PGPOOL_A'], [/b/, 'PGPOOL_B']];\nreturn 'PGPOOL_CONFIG';\n// PGPOOL_IN_A_COMMENT";
    expect(warningCodes(source)).toEqual(['PGPOOL_A', 'PGPOOL_B', 'PGPOOL_CONFIG']);
  });
});
