import { describe, expect, it } from 'vitest';
import { adoptSingletonSource } from '../../../src/cli/adopt-singleton.ts';
import { serviceFileSource } from '../../../src/cli/init.ts';

/** Prisma's documented Next.js singleton (the globalForPrisma trick), as apps copied it. */
const GLOBAL_FOR_PRISMA = `import { PrismaClient } from '@prisma/client'

const globalForPrisma = globalThis as unknown as { prisma: PrismaClient }

export const prisma = globalForPrisma.prisma || new PrismaClient()

if (process.env.NODE_ENV !== 'production') globalForPrisma.prisma = prisma

export default prisma
`;

/** The prismaClientSingleton / globalThis.prismaGlobal variant, default export only, with client options. */
const PRISMA_GLOBAL = `import { PrismaClient } from '@prisma/client';
import { logLevels } from './log-levels';
import { unrelated } from './unrelated';

const prismaClientSingleton = () => {
  return new PrismaClient({
    log: logLevels,
  });
};

declare const globalThis: {
  prismaGlobal: ReturnType<typeof prismaClientSingleton>;
} & typeof globalThis;

const prisma = globalThis.prismaGlobal ?? prismaClientSingleton();

export default prisma;

if (process.env.NODE_ENV !== 'production') globalThis.prismaGlobal = prisma;
`;

const NEXT_CLIENT = '@/lib/generated/prisma/client';

describe('adoptSingletonSource', () => {
  it('the globalForPrisma module in a Next.js app: the docs file, plus the default export', () => {
    const result = adoptSingletonSource(GLOBAL_FOR_PRISMA, { clientImport: NEXT_CLIENT, framework: 'next' });
    expect(result).toEqual({
      adopted: true,
      exports: ['default', 'prisma'],
      source: `${serviceFileSource(NEXT_CLIENT, 'next')}export default prisma;\n`,
    });
  });

  it('the prismaGlobal variant in a React Router app: options kept with the adapter added, their import kept, the unused one dropped', () => {
    const result = adoptSingletonSource(PRISMA_GLOBAL, { clientImport: '~/generated/prisma/client', framework: 'react-router' });
    expect(result.adopted).toBe(true);
    if (!result.adopted) return;
    expect(result.exports).toEqual(['default', 'prisma']);
    expect(result.source).toBe(`import { PrismaClient } from '~/generated/prisma/client';
import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
import { logLevels } from './log-levels';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ log: logLevels, adapter }),
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
export const prisma = connectionPoolManager.prisma;
export default prisma;
`);
    expect(result.source).not.toContain('globalThis');
  });

  it('other exported names of the client stay, as the pooling client; `export * from` stays', () => {
    const source = `import { PrismaClient } from '../generated/prisma/client';
export * from '../generated/prisma/client';
const client = new PrismaClient();
export { client as db };
export const database = client;
`;
    const result = adoptSingletonSource(source, { clientImport: null, framework: null });
    expect(result.adopted).toBe(true);
    if (!result.adopted) return;
    expect(result.exports).toEqual(['prisma', 'database', 'db']);
    expect(result.source).toContain("import { PrismaClient } from '../generated/prisma/client';");
    expect(result.source).toContain("export * from '../generated/prisma/client';");
    expect(result.source).toContain('export const db = prisma;\n');
    expect(result.source).toContain('export const database = prisma;\n');
    expect(result.source).not.toContain('export default');
    expect(result.source).toContain('new PrismaClient({ adapter })');
  });

  it('a module that already imports server-only keeps it outside Next.js too', () => {
    const result = adoptSingletonSource(`import 'server-only';\n${GLOBAL_FOR_PRISMA}`, { clientImport: 'x', framework: null });
    expect(result.adopted && result.source.startsWith("import 'server-only';\nimport { PrismaClient } from 'x';")).toBe(true);
  });

  it('a non-literal options argument is spread', () => {
    const result = adoptSingletonSource("import { PrismaClient } from 'x';\nexport const prisma = new PrismaClient(options);\n", {
      clientImport: 'x',
      framework: null,
    });
    expect(result.adopted && result.source).toContain('new PrismaClient({ ...options, adapter })');
  });

  it.each([
    [
      'already adopted',
      "import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';\n",
      /already uses createConnectionPoolManager/,
    ],
    ['CommonJS', "const { PrismaClient } = require('@prisma/client');\nmodule.exports = new PrismaClient();\n", /CommonJS/],
    ['no PrismaClient', 'export const x = 1;\n', /creates no PrismaClient/],
    ['$extends', `${GLOBAL_FOR_PRISMA}export const ext = prisma.$extends({});\n`, /\$extends/],
    [
      'datasources',
      "import { PrismaClient } from 'x';\nexport default new PrismaClient({ datasources: { db: { url: process.env.X } } });\n",
      /datasources/,
    ],
    ['another function exported', `${GLOBAL_FOR_PRISMA}export function helper() {}\n`, /exports more than the client \(function helper\)/],
    [
      'different options',
      "import { PrismaClient } from 'x';\nexport default cond ? new PrismaClient() : new PrismaClient({ log: ['query'] });\n",
      /different options/,
    ],
    ['nothing exported', "import { PrismaClient } from 'x';\nconst prisma = new PrismaClient();\n", /exports nothing/],
  ])('%s: refused with one sentence', (_name, source, reason) => {
    const result = adoptSingletonSource(source, { clientImport: 'x', framework: 'next' });
    expect(result.adopted).toBe(false);
    if (result.adopted) return;
    expect(result.reason).toMatch(reason);
    expect(result.reason).not.toContain('\n');
  });
});

describe('serviceFileSource', () => {
  it('Next.js: server-only first and a globalKey, as docs/nextjs.md shows', () => {
    const source = serviceFileSource('@/lib/generated/prisma/client', 'next');
    expect(source.split('\n')[0]).toBe("import 'server-only';");
    expect(source).toContain("  globalKey: 'app',\n");
  });
  it('elsewhere: neither', () => {
    const source = serviceFileSource('~/generated/prisma/client', 'react-router');
    expect(source).not.toContain('server-only');
    expect(source).not.toContain('globalKey');
  });
});
