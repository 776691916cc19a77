/** The docs' sample extraction (tools/docs/doc-samples.ts): which fences count, partial ones, line numbers, import shims. */
import { describe, expect, it } from 'vitest';
import { extractSamples, importShims } from '../../../tools/docs/doc-samples.ts';

const MD = [
  '# Title', // 1
  '```ts', // 2
  'const a = 1;', // 3
  '```', // 4
  '```sh', // 5
  'npm test', // 6
  '```', // 7
  '```ts partial', // 8
  'tx.user.findMany();', // 9
  '```', // 10
  '- a list item:', // 11
  '  ```typescript', // 12
  '  const b = 2;', // 13
  '  ```', // 14
  '```tsx', // 15
  '<div />', // 16
  '```', // 17
].join('\n');

describe('extractSamples', () => {
  it('takes ts and typescript fences (indented too), marks partial ones, and gives the first code line', () => {
    expect(extractSamples('doc.md', MD)).toEqual([
      { file: 'doc.md', line: 3, info: 'ts', code: 'const a = 1;', partial: false },
      { file: 'doc.md', line: 9, info: 'ts partial', code: 'tx.user.findMany();', partial: true },
      { file: 'doc.md', line: 13, info: 'typescript', code: 'const b = 2;', partial: false },
    ]);
  });
});

describe('importShims', () => {
  const sample = (code: string) => ({ file: 'd.md', line: 1, info: 'ts', code, partial: false });

  it('types what the scratch app cannot resolve as any, value and type; keeps this package and the service file strict', () => {
    const shims = importShims([
      sample(
        [
          "import { type ActionFunctionArgs, data } from 'not-installed-framework';",
          "import helper from '~/lib/helper.server';",
          "import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';",
          "import { withPooling } from '~/services/connection-pool-manager.server';",
          "import { prisma } from '@/lib/db';",
          "import pg from 'pg';",
          "import 'not-installed-side-effect';",
          'export async function register() {',
          "  if (process.env.X !== 'y') return;",
          "  const { registerThing } = await import('not-installed-dynamic');",
          '}',
        ].join('\n'),
      ),
    ]);
    expect(shims).toContain("declare module 'not-installed-framework' {");
    expect(shims).toContain('export const ActionFunctionArgs: any;\n  export type ActionFunctionArgs = any;');
    expect(shims).toContain('export const data: any;');
    expect(shims).toContain("declare module '~/lib/helper.server' {\n  const _default: any;");
    expect(shims).toContain("declare module 'not-installed-side-effect';\n");
    expect(shims).toContain(
      "declare module 'not-installed-dynamic' {\n  export const registerThing: any;\n  export type registerThing = any;\n}",
    );
    for (const strict of ['prisma-pgbouncer-pooling', '~/services/', '@/lib/db', "'pg'"]) expect(shims).not.toContain(strict);
  });
});
