import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { IncompatibleDependencyError } from '~/errors/errors.ts';
import { nodeBuiltin } from '~/runtime/node-builtins.ts';

const SRC = path.resolve(import.meta.dirname, '../../../src');
const original = Object.getOwnPropertyDescriptor(process, 'getBuiltinModule');

afterEach(() => {
  if (original) Object.defineProperty(process, 'getBuiltinModule', original);
});

describe('nodeBuiltin', () => {
  it("is the module itself, what require('node:tls') returns", () => {
    expect(nodeBuiltin('node:tls')).toBe(tls);
  });

  it('without process.getBuiltinModule: an IncompatibleDependencyError (never retried) that says which runtimes have it', () => {
    Object.defineProperty(process, 'getBuiltinModule', { value: undefined, configurable: true });
    const error = (() => {
      try {
        nodeBuiltin('node:net');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(IncompatibleDependencyError);
    expect(String((error as Error).message)).toMatch(/Node\.js ≥ 20\.16, Bun, Deno 2, or workerd/);
    expect(classifyError(error)).toMatchObject({ kind: 'dependency', retryable: false });
  });

  it('a runtime without that module (workerd before node:fs): the same error, naming the module', () => {
    Object.defineProperty(process, 'getBuiltinModule', { value: () => undefined, configurable: true });
    expect(() => nodeBuiltin('node:fs')).toThrow(/no node:fs/);
  });
});

/**
 * The runtime entry imports no Node built-in statically: an ES module import of `node:tls` or
 * `node:crypto` costs the package's import a facade with every getter read (src/runtime/node-builtins.ts).
 * `import type` is fine (erased). The CLI is its own bundle and may.
 */
it('no file of the runtime entry imports a node: built-in as a value', () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      const relative = path.relative(SRC, file);
      if (entry.isDirectory()) {
        if (relative !== 'cli' && relative !== 'generated') walk(file);
      } else if (entry.name.endsWith('.ts')) {
        const valueImports = readFileSync(file, 'utf8').match(/^import (?!type )[^;]*from 'node:[^']+';/gm) ?? [];
        for (const line of valueImports) offenders.push(`${relative}: ${line}`);
      }
    }
  };
  walk(SRC);
  expect(offenders).toEqual([]);
});
