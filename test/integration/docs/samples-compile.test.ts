/**
 * Every TypeScript sample in README.md and docs/*.md compiles against the package's built types
 * (the rule is in tools/docs/doc-samples.ts and docs/development.md). A control sample — the
 * health-route form an earlier page showed, `healthLoader(request)` imported from the service file —
 * must fail in the same run, so a harness that checks nothing cannot pass.
 */
import { describe, expect, it } from 'vitest';
import { allSamples, compileSamples, type DocSample } from '../../../tools/docs/doc-samples.ts';

const CONTROL: DocSample = {
  file: '(control)',
  line: 1,
  info: 'ts',
  partial: false,
  code: [
    "import { healthLoader } from '~/services/connection-pool-manager.server';",
    'export const loader = ({ request }: { request: Request }) => healthLoader(request);',
  ].join('\n'),
};

describe('docs samples', () => {
  it('compile against the built types; a broken control sample does not', async () => {
    const samples = allSamples();
    expect(samples.length).toBeGreaterThan(10);
    const { diagnostics, compiled } = await compileSamples([...samples, CONTROL]);
    const errors = diagnostics.filter((d) => d.sample !== CONTROL).map((d) => `${d.sample.file}:${d.line}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(compiled).toBe(samples.filter((s) => !s.partial).length + 1);
    const control = diagnostics.filter((d) => d.sample === CONTROL).map((d) => d.message);
    expect(control).toEqual([expect.stringMatching(/TS2305: Module .* has no exported member 'healthLoader'/)]);
  });
});
