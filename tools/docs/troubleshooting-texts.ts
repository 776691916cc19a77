/**
 * The error texts people paste into a search box, each of which docs/troubleshooting.md must carry in
 * a heading (issue 35: "troubleshooting by the text people paste"), and the configuration warning
 * codes the package emits, read from the one table that assigns them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../lib/markers.ts';

/** Error texts as the database, the pooler, Node or Prisma print them. */
export const ERROR_TEXTS: readonly string[] = Object.freeze([
  'sorry, too many clients already',
  'no more connections allowed',
  'prepared statement "s0" already exists',
  'unsupported startup parameter',
  'Tenant or user not found',
  'ECONNREFUSED',
  ':6543',
  'ENETUNREACH',
  'self-signed certificate in certificate chain',
  'Timed out trying to acquire a postgres advisory lock',
  'TransactionOutcomeUnknownError',
  'ConnectionSilentError',
]);

/** The `PGPOOL_…` codes of src/logging/config-warnings.ts (its table and its fallback). */
export function warningCodes(source = readFileSync(path.join(REPO_ROOT, 'src/logging/config-warnings.ts'), 'utf8')): string[] {
  return [...new Set(source.match(/'PGPOOL_[A-Z_]+'/g) ?? [])].map((quoted) => quoted.slice(1, -1)).sort();
}

/** The texts that appear in no Markdown heading (`#` … `######`) of `markdown`. */
export function missingFromHeadings(markdown: string, texts: readonly string[]): string[] {
  const headings = markdown.split('\n').filter((line) => /^#{1,6}\s/.test(line));
  return texts.filter((text) => !headings.some((heading) => heading.includes(text)));
}
