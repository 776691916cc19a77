/**
 * No node-postgres SECURITY WARNING reaches the app: pg-connection-string ≥ 2.10 emits one (once per
 * process, via process.emitWarning) when it parses `sslmode=prefer|require|verify-ca`. Our pool and
 * health probe never let pg parse those parameters (src/pool/client-settings.ts). Checked in fresh
 * processes, since the warning fires only once per process; the control run with plain pg on the
 * same URLs proves the warning is real and would be seen.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteDatabaseUrl } from '~/config/database-url.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startStack({ tls: true, migrate: false });
});
afterAll(async () => {
  await stack?.stop();
});

const fixture = fileURLToPath(new URL('./fixtures/warnings-app.ts', import.meta.url));

function runApp(client: 'library' | 'pg', urls: string[]): Promise<{ warnings: string[]; results: string[] }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', fixture],
      { env: { ...process.env, URLS: JSON.stringify(urls), CLIENT: client, DEBUG: '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'));
      },
    );
  });
}

describe('node-postgres SECURITY WARNING', () => {
  const forms = () => {
    const tls = stack.tls;
    if (!tls) throw new Error('stack started without tls');
    const base = rewriteDatabaseUrl(stack.poolerUrl, { params: { sslmode: null, sslrootcert: null } });
    return [
      rewriteDatabaseUrl(base, { params: { sslmode: 'prefer' } }),
      rewriteDatabaseUrl(base, { params: { sslmode: 'require' } }),
      rewriteDatabaseUrl(base, { params: { sslmode: 'verify-ca', sslrootcert: tls.caFile } }),
      rewriteDatabaseUrl(base, { params: { sslmode: 'require', sslrootcert: tls.caFile } }),
    ];
  };

  it('never reaches an app that connects through the library (pool and health probe)', async () => {
    const { warnings, results } = await runApp('library', forms());
    expect(results).toEqual(Array(4).fill('connected, health probe ok'));
    expect(warnings.filter((w) => /SECURITY WARNING/.test(w))).toEqual([]);
    // What the app does see instead: our own warning, once per URL that encrypts without verifying.
    expect(warnings.filter((w) => /does not verify the server certificate/.test(w)).length).toBeGreaterThan(0);
  });

  it('control: plain pg on the same URLs prints it', async () => {
    const { warnings } = await runApp('pg', forms());
    expect(warnings).toEqual([expect.stringMatching(/^Warning: SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca'/)]);
  });
});
