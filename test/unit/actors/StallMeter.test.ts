// The stall meter: how long the event loop was held (a gap between its looks), not how busy it
// was. Pure logic on a fake clock, then a stall of the real loop (that busy turns are no stall
// is realClock's test: what it gives back is what a meter saw).
import { afterEach, describe, expect, it } from 'vitest';
import { StallMeter } from '../../../src/actors/StallMeter.js';

function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('StallMeter', () => {
  let meter: StallMeter | undefined;
  afterEach(() => {
    while (meter?.held === true) meter.release();
  });

  it('counts a gap longer than one and a half ticks, less a tick, only while held; a reading changes nothing', () => {
    let now = 1_000;
    meter = new StallMeter(10, () => now);
    now += 500;
    expect(meter.stalled()).toBe(0);
    meter.hold();
    now += 15;
    expect(meter.stalled()).toBe(0);
    now += 16;
    expect(meter.stalled()).toBe(21);
    // Read every 5 ms through a stall (a timer armed meanwhile reads it): the gap goes on.
    for (let i = 0; i < 20; i++) {
      now += 5;
      expect(meter.stalled()).toBe(21 + 5 * (i + 1));
    }
    expect(meter.stalled()).toBe(121);
    // Released: what was seen stays.
    meter.release();
    now += 1_000;
    expect(meter.stalled()).toBe(121);
    // Held again: the time it was not held is no gap.
    meter.hold();
    now += 5;
    expect(meter.stalled()).toBe(121);
  });

  it('keeps looking until every hold is released', () => {
    let now = 0;
    meter = new StallMeter(10, () => now);
    meter.hold();
    meter.hold();
    meter.release();
    expect(meter.held).toBe(true);
    now += 50;
    expect(meter.stalled()).toBe(40);
    expect(meter.stalled()).toBe(40);
    meter.release();
    expect(meter.held).toBe(false);
    meter.release();
    expect(meter.held).toBe(false);
  });

  it('sees a synchronous stretch of the real loop', () => {
    meter = new StallMeter();
    meter.hold();
    const before = meter.stalled();
    stall(120);
    expect(meter.stalled() - before).toBeGreaterThanOrEqual(110);
  });
});
