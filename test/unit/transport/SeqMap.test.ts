// SeqMap against the Map it stands in for: the same answers for any sequence of operations
// (keys clustered, as sequence numbers are, and far apart, so that probe runs wrap and
// collide), iteration in ascending key order, and a sliding window of inputs that never grows
// the table.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeqMap } from '../../../src/transport/SeqMap.js';

type Op = { op: 'set'; key: number; value: number } | { op: 'delete'; key: number } | { op: 'get'; key: number } | { op: 'clear' };

const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 7 }).map((k) => k * 16 + 3), fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

describe('SeqMap', () => {
  it('answers as a Map does, for any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (ops, capacity) => {
        const model = new Map<number, number>();
        const map = new SeqMap<number>(capacity);
        for (const o of ops) {
          switch (o.op) {
            case 'set':
              model.set(o.key, o.value);
              map.set(o.key, o.value);
              break;
            case 'delete':
              expect(map.delete(o.key)).toBe(model.delete(o.key));
              break;
            case 'get':
              expect(map.get(o.key)).toBe(model.get(o.key));
              expect(map.has(o.key)).toBe(model.has(o.key));
              break;
            case 'clear':
              model.clear();
              map.clear();
              break;
          }
          expect(map.size).toBe(model.size);
        }
        const sorted = [...model].sort((a, b) => a[0] - b[0]);
        expect([...map]).toEqual(sorted);
        expect(map.keys()).toEqual(sorted.map(([k]) => k));
        expect(map.values()).toEqual(sorted.map(([, v]) => v));
        for (const [k, v] of model) expect(map.get(k)).toBe(v);
      }),
      { numRuns: 500 },
    );
  });

  it('holds a sliding window of sequence numbers in the cells it started with', () => {
    const map = new SeqMap<string>(128);
    expect(map.capacity).toBe(128);
    for (let seq = 0; seq < 100_000; seq++) {
      if (seq >= 64) expect(map.delete(seq - 64)).toBe(true);
      map.set(seq, `input ${seq}`);
    }
    expect(map.size).toBe(64);
    expect(map.capacity).toBe(128);
    expect(map.keys()).toEqual(Array.from({ length: 64 }, (_, i) => 100_000 - 64 + i));
    expect(map.get(99_999)).toBe('input 99999');
    expect(map.get(0)).toBeUndefined();
  });

  it('refuses a key that is not a non-negative safe integer', () => {
    const map = new SeqMap<number>();
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => map.set(bad, 0)).toThrow(RangeError);
    expect(map.size).toBe(0);
  });
});
