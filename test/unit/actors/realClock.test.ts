// The runtime's real clock: a timer whose window the host's event loop spent held (a
// synchronous stall) waits again for that long (at most its own duration), so what arrived
// meanwhile is read, and answered, before a deadline runs out on the host's time. Busy turns
// that let the loop go round are not given back.
import { describe, expect, it } from 'vitest';
import { realClock } from '../../../src/actors/RuntimeClock.js';
import { STALL_TICK_MS, StallMeter } from '../../../src/actors/StallMeter.js';

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
    // Held 90 of its 100 ms: the timer is not late, but the plugin had ~10 ms to be heard. It
    // waits the stall again, as the meter saw it (up to a tick short).
    stall(90);
    expect(await fired).toBeGreaterThanOrEqual(100 + 90 - STALL_TICK_MS - 5);
  });

  it('gives nothing back for a loop busy with short turns: it heard the plugin all along', async () => {
    // What the loop was really held meanwhile (this thread not run on a loaded machine, say),
    // which the timer does give back.
    const observer = new StallMeter();
    observer.hold();
    const stalledBefore = observer.stalled();
    const t0 = performance.now();
    let firedAt = 0;
    realClock.setTimeout(() => {
      firedAt = performance.now() - t0;
    }, 200);
    // Busy ~95 % of the timer's window in 4 ms turns, as a host under load is; timers and I/O
    // get their turn between them. Giving back the busy time fired it at ~390 ms.
    await new Promise<void>((resolve) => {
      const turn = (): void => {
        stall(4);
        if (firedAt === 0) setImmediate(turn);
        else resolve();
      };
      turn();
    });
    const held = observer.stalled() - stalledBefore;
    observer.release();
    expect(firedAt).toBeGreaterThanOrEqual(199);
    // Its own 200 ms, what the loop was held (a tick's error either way), a turn of lateness.
    expect(firedAt).toBeLessThan(200 + held + 40);
  });

  it('gives a stall back however many timers are armed during it', async () => {
    const t0 = performance.now();
    const fired = new Promise<number>((resolve) => {
      realClock.setTimeout(() => {
        resolve(performance.now() - t0);
      }, 200);
    });
    // A 180 ms stretch that arms and clears a timer every 5 ms (an input budget per input of
    // an inline plugin's synchronous chain, say): each arm read the meter, and the reading cut
    // the stall into gaps too short to count (the timer fired at 200, nothing given back).
    const until = performance.now() + 180;
    let next = performance.now();
    while (performance.now() < until) {
      if (performance.now() >= next) {
        realClock.clearTimeout(realClock.setTimeout(() => undefined, 1_000));
        next += 5;
      }
    }
    expect(await fired).toBeGreaterThanOrEqual(200 + 150);
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
