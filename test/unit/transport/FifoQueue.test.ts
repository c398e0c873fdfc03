// FifoQueue against the array it stands in for: the same answers for any sequence of pushes
// and shifts (across wraparound and growth), and no reference kept to what it handed out.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoQueue } from '../../../src/transport/FifoQueue.js';
import { collectGarbage } from '../../fixtures/collectGarbage.js';

type Op =
  | { op: 'push'; value: number }
  | { op: 'shift' }
  | { op: 'peek' }
  | { op: 'unshiftAll'; values: number[] }
  | { op: 'removeFirst'; modulus: number }
  | { op: 'takeAll' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), value: fc.integer() }) },
  { weight: 4, arbitrary: fc.constant({ op: 'shift' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'peek' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unshiftAll' as const), values: fc.array(fc.integer(), { maxLength: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeFirst' as const), modulus: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'takeAll' as const }) },
);

/** The predicate removeFirst is tried with: a value divisible by `modulus`. */
const divisibleBy =
  (modulus: number) =>
  (value: number): boolean =>
    value % modulus === 0;

describe('FifoQueue', () => {
  it('answers as an array does, for any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 1, max: 40 }), (ops, capacity) => {
        const model: number[] = [];
        const queue = new FifoQueue<number>(capacity);
        for (const o of ops) {
          switch (o.op) {
            case 'push':
              model.push(o.value);
              queue.push(o.value);
              break;
            case 'shift':
              expect(queue.shift()).toBe(model.shift());
              break;
            case 'peek':
              expect(queue.peek()).toBe(model[0]);
              break;
            case 'unshiftAll':
              model.unshift(...o.values);
              queue.unshiftAll(o.values);
              break;
            case 'removeFirst': {
              const index = model.findIndex(divisibleBy(o.modulus));
              const [expected] = index >= 0 ? model.splice(index, 1) : [];
              expect(queue.removeFirst(divisibleBy(o.modulus))).toBe(expected);
              break;
            }
            case 'takeAll':
              expect(queue.takeAll()).toEqual(model.splice(0));
              break;
          }
          expect(queue.size).toBe(model.length);
        }
        for (const value of model) expect(queue.shift()).toBe(value);
        expect(queue.shift()).toBeUndefined();
        expect(queue.peek()).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('keeps no reference to an item it handed out', async () => {
    const queue = new FifoQueue<object>(8);
    const ref = pushAndShift(queue);
    expect(queue.size).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});

/** Pushes two items, shifts the first and returns a weak reference to it (no strong one left). */
function pushAndShift(queue: FifoQueue<object>): WeakRef<object> {
  const item = { handedOut: true };
  queue.push(item);
  queue.push({ handedOut: false });
  if (queue.shift() !== item) throw new Error('FifoQueue.shift returned another item');
  return new WeakRef(item);
}
