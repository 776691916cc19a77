import { describe, expect, it } from 'vitest';
import { replaceBetweenMarkers } from '../../../tools/lib/markers.ts';

describe('replaceBetweenMarkers', () => {
  it('replaces only what lies between the named markers', () => {
    const text = 'a\n<!-- x:start -->\nold\n<!-- x:end -->\nb\n<!-- y:start -->\nkeep\n<!-- y:end -->\n';
    expect(replaceBetweenMarkers(text, 'x', 'new')).toBe(
      'a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb\n<!-- y:start -->\nkeep\n<!-- y:end -->\n',
    );
  });

  it.each([
    ['missing start', 'old\n<!-- x:end -->'],
    ['missing end', '<!-- x:start -->\nold'],
    ['end before start', '<!-- x:end -->\n<!-- x:start -->'],
  ])('throws naming the file and the markers when %s', (_case, text) => {
    expect(() => replaceBetweenMarkers(text, 'x', 'new', 'docs/a.md')).toThrow(
      'docs/a.md: markers <!-- x:start --> … <!-- x:end --> not found',
    );
  });
});
