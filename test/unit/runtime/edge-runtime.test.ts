import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/errors.ts';
import { assertTcpRuntime, detectEdgeRuntime, type EdgeSignals } from '../../../src/runtime/edge-runtime.ts';

describe('detectEdgeRuntime', () => {
  it.each<[string, EdgeSignals, 'EdgeRuntime' | 'NEXT_RUNTIME' | null]>([
    ['Vercel Edge / edge-runtime: the EdgeRuntime global', { EdgeRuntime: 'edge-runtime' }, 'EdgeRuntime'],
    ['Next.js edge: NEXT_RUNTIME=edge', { process: { env: { NEXT_RUNTIME: 'edge' } } }, 'NEXT_RUNTIME'],
    ['Next.js on Node', { process: { env: { NEXT_RUNTIME: 'nodejs' } } }, null],
    ['no process at all (not edge by itself)', {}, null],
    ['a process shim without env', { process: {} }, null],
    ['EdgeRuntime that is not a string', { EdgeRuntime: {} }, null],
  ])('%s', (_name, globals, expected) => {
    expect(detectEdgeRuntime(globals)).toBe(expected);
  });

  it('this Node process is not an edge runtime', () => {
    expect(detectEdgeRuntime()).toBeNull();
    expect(() => assertTcpRuntime()).not.toThrow();
  });
});

describe('assertTcpRuntime', () => {
  it.each<[EdgeSignals, string, RegExp]>([
    [{ EdgeRuntime: 'edge-runtime' }, 'EdgeRuntime', /^EdgeRuntime: EdgeRuntime is defined: an edge runtime/],
    [{ process: { env: { NEXT_RUNTIME: 'edge' } } }, 'NEXT_RUNTIME', /^NEXT_RUNTIME: NEXT_RUNTIME is "edge": an edge runtime/],
  ])('%o → one ConfigError naming %s and the way out', (globals, variable, start) => {
    const error = (() => {
      try {
        assertTcpRuntime(globals);
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ variable });
    const { message } = error as ConfigError;
    expect(message).toMatch(start);
    expect(message).toMatch(/Node\.js function .*@prisma\/adapter-neon.*@prisma\/adapter-ppg/);
    expect(message).not.toContain('\n');
  });
});
