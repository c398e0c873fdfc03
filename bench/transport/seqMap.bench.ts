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

/** What both tables offer the slide. */
interface Table {
  set(key: number, value: number): unknown;
  get(key: number): number | undefined;
  delete(key: number): boolean;
}

let sink = 0;

/** A table holding a full window, and the slide that moves it by STEPS inputs each call. */
function slider(table: Table): () => void {
  let seq = 0;
  for (; seq < WINDOW; seq++) table.set(seq, seq);
  return () => {
    for (let i = 0; i < STEPS; i++, seq++) {
      table.set(seq, seq);
      sink += table.get(seq - WINDOW) ?? 0;
      table.delete(seq - WINDOW);
    }
  };
}

describe(`a window of ${WINDOW} sequence numbers, ${STEPS} slides`, () => {
  bench('SeqMap', slider(new SeqMap<number>(2 * WINDOW)));
  bench('Map', slider(new Map<number, number>()));
});

export { sink };
