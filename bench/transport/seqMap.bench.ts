/**
 * The in-flight table of every input: `npx vitest bench --run bench/transport`.
 *
 * A window of WINDOW consecutive sequence numbers slides by one per input (the oldest settles,
 * the next is handed over), as at 64 in flight. SeqMap against the `Map` it replaced (see
 * SeqMap.ts for why a Map is not used); divide a case's mean time by STEPS for the cost of one
 * set + get + delete.
 */
import { bench, describe } from 'vitest';
import { SeqMap } from '../../src/transport/SeqMap.js';

const WINDOW = 64;
const STEPS = 4096;

const seqMap = new SeqMap<number>(2 * WINDOW);
const map = new Map<number, number>();
let next = 0;
let sink = 0;
for (; next < WINDOW; next++) {
  seqMap.set(next, next);
  map.set(next, next);
}

describe(`a window of ${WINDOW} sequence numbers, ${STEPS} slides`, () => {
  let seq = next;
  bench('SeqMap', () => {
    for (let i = 0; i < STEPS; i++, seq++) {
      seqMap.set(seq, seq);
      sink += seqMap.get(seq - WINDOW) ?? 0;
      seqMap.delete(seq - WINDOW);
    }
  });
  let mapSeq = next;
  bench('Map', () => {
    for (let i = 0; i < STEPS; i++, mapSeq++) {
      map.set(mapSeq, mapSeq);
      sink += map.get(mapSeq - WINDOW) ?? 0;
      map.delete(mapSeq - WINDOW);
    }
  });
});

export { sink };
