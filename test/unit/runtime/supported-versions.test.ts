/**
 * The supported versions: the runtime guard's ranges are package.json's peer ranges and the ones
 * docs/supported-versions.md states; a Prisma client below 7.10 is refused naming its version and
 * the range; and the client keeps its version where the guard reads it (`_clientVersion`).
 */
import { readFileSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { describe, expect, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { IncompatibleDependencyError } from '~/errors/errors.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { assertSupportedPrismaClient, parseVersion, prismaClientVersion, SUPPORTED_RANGES } from '~/runtime/supported-versions.ts';

const root = new URL('../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { peerDependencies: Record<string, string> };
const installed = (name: string) =>
  (JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, root), 'utf8')) as { version: string }).version;

describe('supported ranges', () => {
  it("are package.json's peer ranges", () => {
    for (const [name, range] of Object.entries(SUPPORTED_RANGES)) expect(pkg.peerDependencies[name]).toBe(range);
  });

  it('are the ones docs/supported-versions.md states', () => {
    const doc = readFileSync(new URL('docs/supported-versions.md', root), 'utf8');
    for (const [name, range] of Object.entries(SUPPORTED_RANGES)) expect(doc).toContain(`| \`${name}\` | \`${range}\` |`);
  });
});

describe('the Prisma client guard', () => {
  it.each(['7.0.1', '7.2.0', '7.9.1', '7.10.0-dev.3'])('refuses %s, naming the version and the supported range', (version) => {
    const fake = { _clientVersion: version };
    if (version.startsWith('7.10.0')) {
      expect(() => assertSupportedPrismaClient(fake)).not.toThrow();
      return;
    }
    let error: unknown;
    try {
      assertSupportedPrismaClient(fake);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(IncompatibleDependencyError);
    expect((error as Error).message).toContain(`@prisma/client ${version} is not supported (supported: >=7.10.0 <7.11)`);
    expect((error as Error).message).toMatch(/P2028/);
    expect(classifyError(error)).toMatchObject({ kind: 'dependency', retryable: false });
  });

  it.each(['7.10.0', '7.10.1', '7.11.0', '8.0.0'])('lets %s through (the upper bound is the install-time range)', (version) => {
    expect(() => assertSupportedPrismaClient({ _clientVersion: version })).not.toThrow();
  });

  it('lets through what is not a Prisma client (a test double, a client of the app’s own)', () => {
    for (const client of [{}, null, { _clientVersion: 7 }, { _clientVersion: 'dev' }])
      expect(() => assertSupportedPrismaClient(client)).not.toThrow();
  });

  it('parses versions with suffixes', () => {
    expect(parseVersion('7.9.1')).toEqual([7, 9, 1]);
    expect(parseVersion('7.10.0-integration-x.1')).toEqual([7, 10, 0]);
    expect(parseVersion('latest')).toBeNull();
  });

  it('pins the assumption: a generated Prisma 7 client keeps its version in _clientVersion (no connection made)', () => {
    const client = new PrismaClient({ adapter: new PrismaPg({ connectionString: 'postgresql://u@127.0.0.1:1/d' }) });
    const version = prismaClientVersion(client);
    expect(version).not.toBeNull();
    expect(parseVersion(version as string)?.slice(0, 2)).toEqual(parseVersion(installed('@prisma/client'))?.slice(0, 2));
  });
});
