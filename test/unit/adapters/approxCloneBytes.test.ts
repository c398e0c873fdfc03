// What the embedded guest's byte credit counts for an output: close for the values that
// weigh, cheap for small ones, never a throw.
import { describe, expect, it } from 'vitest';
import { approxCloneBytes } from '../../../src/adapters/embedded/approxCloneBytes.js';

describe('approxCloneBytes', () => {
  it('counts the bytes of buffers and strings, wherever they sit in the value', () => {
    expect(approxCloneBytes(new Uint8Array(8 << 20))).toBe(8 << 20);
    expect(approxCloneBytes(new ArrayBuffer(1000))).toBe(1000);
    expect(approxCloneBytes('x'.repeat(5000))).toBe(5000);
    const nested = approxCloneBytes({ frame: { data: new Float64Array(1 << 17) }, list: [new DataView(new ArrayBuffer(4096))], map: new Map([['k', 'v'.repeat(100)]]) });
    expect(nested).toBeGreaterThanOrEqual((1 << 20) + 4096 + 100);
    expect(nested).toBeLessThan((1 << 20) + 4096 + 1000);
    expect(approxCloneBytes(42)).toBe(8);
  });

  it('stops after maxNodes values, cycles included, and survives getters that throw', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(approxCloneBytes(cycle, 100)).toBeLessThan(100 * 16);
    // What the budget leaves unvisited counts too: a million numbers weigh ~8 MB, not 8 KB.
    const wide = Array.from({ length: 1_000_000 }, () => 1);
    expect(approxCloneBytes(wide, 1_000)).toBe(8_000_000);
    const keyed = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    expect(approxCloneBytes(keyed, 1_000)).toBeGreaterThan(10_000 * 16 - 1_000 * 16);
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    expect(() => approxCloneBytes({ hostile })).not.toThrow();
  });
});
