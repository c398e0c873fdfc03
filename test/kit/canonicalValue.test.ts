// Transcripts compare what the application received: equal renderings exactly for equal values.
import { describe, expect, it } from 'vitest';
import { canonicalValue, shortenDiffering } from '../../dist/testing/canonicalValue.js';

describe('canonicalValue', () => {
  it.each([
    [undefined, 'undefined'],
    [{ a: undefined }, '{a: undefined}'],
    [-0, '-0'],
    [Number.NaN, 'NaN'],
    [10n, '10n'],
    ['x', '"x"'],
    [[1, , 3], '[1, <empty>, 3]'], // eslint-disable-line no-sparse-arrays
    [new Map([[1, { 'a-b': 2 }]]), 'Map{1 => {"a-b": 2}}'],
    [new Set(['a']), 'Set{"a"}'],
    [new Date(0), 'Date(1970-01-01T00:00:00.000Z)'],
    [new TypeError('no'), 'TypeError("no")'],
    [new Uint8Array([1, 2]), 'Uint8Array(2)[1,2]'],
    [Buffer.from([1, 2]), 'Buffer(2)[1,2]'],
  ])('renders %o as %s', (value, text) => {
    expect(canonicalValue(value)).toBe(text);
  });

  it('tells apart values a plain JSON rendering would confuse', () => {
    const pairs: [unknown, unknown][] = [
      [{}, { a: undefined }],
      [0, -0],
      [new Map([['a', 1]]), { a: 1 }],
      [new Date(0), new Date(0).toISOString()],
      [new Uint8Array([1]), [1]],
      // Isolated mode hands a Buffer over as a Buffer, the others as a plain Uint8Array.
      [Buffer.from([1]), new Uint8Array([1])],
    ];
    for (const [a, b] of pairs) expect(canonicalValue(a)).not.toBe(canonicalValue(b));
  });

  it('renders long byte arrays by length, head and hash, so one changed byte still shows', () => {
    const a = new Uint8Array(4096).fill(7);
    const b = a.slice();
    b[4000] = 8;
    expect(canonicalValue(a)).toMatch(/^Uint8Array\(4096\)\[7,7,7,7,7,7,7,7,… sha256:[0-9a-f]{16}\]$/);
    expect(canonicalValue(a)).not.toBe(canonicalValue(b));
  });

  it('marks a cycle instead of recursing forever', () => {
    const a: { self?: unknown } = {};
    a.self = a;
    expect(canonicalValue(a)).toBe('{self: [Circular]}');
  });
});

describe('shortenDiffering', () => {
  it('cuts long lines around where they part, so a difference past the cut shows', () => {
    const [a = '', b = ''] = shortenDiffering([`reply "${'a'.repeat(5_000)}b"`, `reply "${'a'.repeat(5_000)}c"`], 60);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^…a+b"$/);
    expect(b).toMatch(/^…a+c"$/);
    expect(a.length).toBeLessThanOrEqual(60);
  });

  it('cuts as a plain shorten where the lines part early, line by line', () => {
    expect(shortenDiffering(['emit x 1\nreply 2', 'emit x 1\nreply 3'], 60)).toEqual(['emit x 1\nreply 2', 'emit x 1\nreply 3']);
    const [a = ''] = shortenDiffering([`x ${'q'.repeat(300)}`, `y ${'q'.repeat(300)}`], 60);
    expect(a).toBe(`x ${'q'.repeat(57)}…`);
  });
});
