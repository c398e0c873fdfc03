// The model's clock must stop at each due time on its way (see SteppingClock.ts), and fail
// loudly rather than loop where it cannot.
import { describe, expect, it } from 'vitest';
import { SteppingClock } from './SteppingClock.js';

describe('SteppingClock', () => {
  it('fires each timer at its own due time, and what one sets starts there', () => {
    const clock = new SteppingClock();
    const seen: string[] = [];
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimeout(() => seen.push(`c@${clock.now()}`), 50);
    }, 100);
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 300);
    clock.increment(1_000);
    expect(seen).toEqual(['a@100', 'c@150', 'b@300']);
    expect(clock.now()).toBe(1_000);
  });

  it('leaves timers due after the increment pending, and cleared ones unfired', () => {
    const clock = new SteppingClock();
    const seen: number[] = [];
    const cleared = clock.setTimeout(() => seen.push(1), 10);
    clock.setTimeout(() => seen.push(2), 500);
    clock.clearTimeout(cleared);
    clock.increment(100);
    expect(seen).toEqual([]);
    clock.increment(400);
    expect(seen).toEqual([2]);
  });

  it('refuses a timeout it could not step to', () => {
    const clock = new SteppingClock();
    expect(() => clock.setTimeout(() => undefined, Number.NaN)).toThrow(RangeError);
    expect(() => clock.setTimeout(() => undefined, -1)).toThrow(RangeError);
  });

  it('throws instead of looping when a timer does not fire at its due time', () => {
    const clock = new SteppingClock();
    clock.increment(0.7);
    // SimulatedClock finds (0.7 + 0.1) - 0.7 < 0.1: never due, at its own due time.
    clock.setTimeout(() => undefined, 0.1);
    expect(() => {
      clock.increment(1);
    }).toThrow(/did not fire/);
  });
});
