import { describe, expect, it } from 'vitest';
import { resolveNode } from '../../../tools/bench/node-runtime.ts';
import { plainCostBlock } from '../../../tools/bench/plain-cost.ts';

describe('plain-cost on another Node', () => {
  it.each([
    ['v20.20.2', 'v20.1.0', 'plain-cost'],
    ['v24.22.3', 'v20.20.2', 'plain-cost-node24'],
    ['22.0.0', 'v20.20.2', 'plain-cost-node22'],
  ])('a run on %s from %s writes the block %s', (node, running, block) => {
    expect(plainCostBlock(node, running)).toBe(block);
  });

  it('a --node that is neither a major nor a binary is refused by name', async () => {
    await expect(resolveNode('/no/such/node', () => {})).rejects.toThrow(/^--node: expected a Node major/);
  });
});
