// The runtime's real clock: a timer whose window the host's event loop spent busy (a
// synchronous stall) waits again for that long (at most its own duration), so what arrived
// meanwhile is read, and answered, before a deadline runs out on the host's time.
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
    // Due at 30, the loop busy ~150 of it: waits its own 30 ms more (its length at most), not 150.
    expect(at).toBeGreaterThanOrEqual(150 + 30 - 1);
  });

  it('gives the time back for a stall that ended just before the deadline, too', async () => {
    const t0 = performance.now();
    const fired = new Promise<number>((resolve) => {
      realClock.setTimeout(() => {
        resolve(performance.now() - t0);
      }, 100);
    });
    // Busy 90 of its 100 ms: the timer is not late, but the plugin had ~10 ms to be heard.
    stall(90);
    expect(await fired).toBeGreaterThanOrEqual(90 + 90 - 1);
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
