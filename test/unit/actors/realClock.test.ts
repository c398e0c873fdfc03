// The runtime's real clock: a timer held off by a stall of the host's event loop waits again
// for as long as it was late (at most its own duration), so what arrived meanwhile is read
// before a deadline runs out on the host's time.
import { describe, expect, it } from 'vitest';
import { realClock } from '../../../src/actors/RuntimeClock.js';

function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('realClock', () => {
  it('gives a timer held off by a stall its lost time back, once, and lets I/O in first', async () => {
    const order: string[] = [];
    const t0 = performance.now();
    const fired = new Promise<number>((resolve) =>
      realClock.setTimeout(() => {
        order.push('timer');
        resolve(performance.now() - t0);
      }, 30),
    );
    stall(150);
    // What the stall held back (here an immediate, as an I/O reply would be) runs before the deadline.
    setImmediate(() => order.push('held back'));
    const at = await fired;
    expect(order).toEqual(['held back', 'timer']);
    // Due at 30, fired at ~150 (120 late): waits its own 30 ms more, not 120.
    expect(at).toBeGreaterThanOrEqual(150 + 30 - 1);
  });

  it('cancels a timer while it waits again', async () => {
    let ran = false;
    const id = realClock.setTimeout(() => {
      ran = true;
    }, 10);
    stall(60);
    // The first expiry comes late and re-arms; cancelled then, it never runs.
    await new Promise((resolve) => setTimeout(resolve, 0));
    realClock.clearTimeout(id);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(ran).toBe(false);
  });
});
