/**
 * What the installed dependencies can do, for the tests whose expectation differs between the
 * oldest and the newest supported versions (tools/matrix/oldest-suite.ts runs the suite on the
 * oldest): adapter-pg < 7.6.0 names no statements, pg < 8.23.0 has no `pipeline` and warns once.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { pgSupportsPipeline } from '~/pool/pg-internals.ts';

// Read from node_modules: adapter-pg does not export its package.json.
const adapterVersion = (
  JSON.parse(readFileSync(new URL('../../node_modules/@prisma/adapter-pg/package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const [major = 0, minor = 0] = adapterVersion.split('.').map(Number);

/** The installed adapter-pg has `statementNameGenerator` (≥ 7.6.0). */
export const adapterNamesStatements = major > 7 || (major === 7 && minor >= 6);

/** The installed pg has the `pipeline` client option (≥ 8.23.0). */
export const pgHasPipeline = pgSupportsPipeline(pg.Client);

/** A child's stderr without the one PGPOOL_PG_NO_PIPELINE warning an older pg rightly gets; unchanged on a pg with `pipeline`. */
export function withoutPipelineWarning(stderr: string): string {
  if (pgHasPipeline) return stderr;
  return stderr.replace(/^\(node:\d+\) \[PGPOOL_PG_NO_PIPELINE\] .*\n(\(Use `node --trace-warnings .*\n)?/m, '');
}
