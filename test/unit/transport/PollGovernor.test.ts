// The poll governor's rules, as pure bookkeeping: poll after a wait that ended within the
// window; after a miss, no poll for 2, 4, 8 … 256 waits; a catch ends the back-off.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PollGovernor } from '../../../src/transport/PollGovernor.js';

describe('PollGovernor', () => {
  it('polls at first, and after a wait that ended within the window, not after one that did not', () => {
    const governor = new PollGovernor();
    expect(governor.next()).toBe(true);
    governor.caught();
    expect(governor.next()).toBe(true);
    governor.caught();
    // A wait that did not poll (say, too many in flight) and took longer than the window:
    governor.waited(false);
    expect(governor.next()).toBe(false);
    governor.waited(true);
    expect(governor.next()).toBe(true);
  });

  it('doubles the back-off on each miss in a row, up to 256 waits, and a catch ends it', () => {
    const governor = new PollGovernor();
    /** Waits without a poll before the next one, every one of them ending within the window. */
    const quietWaits = (): number => {
      let waits = 0;
      while (!governor.next()) {
        governor.waited(true);
        waits += 1;
      }
      return waits;
    };
    expect(governor.next()).toBe(true);
    const quiet: number[] = [];
    for (let miss = 1; miss <= 10; miss++) {
      governor.missed();
      quiet.push(quietWaits());
    }
    expect(quiet).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 256, 256]);
    // The probe catches: the next wait polls at once, and a new miss starts over at 2.
    governor.caught();
    expect(governor.next()).toBe(true);
    governor.missed();
    expect(quietWaits()).toBe(2);
  });

  it('never polls more than once in any 2^k waits after k misses in a row (any interleaving of reports)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('caught', 'missed', 'within', 'beyond'), { maxLength: 400 }), (reports) => {
        const governor = new PollGovernor();
        let streak = 0;
        let quietLeft = 0;
        for (const report of reports) {
          const polls = governor.next();
          if (quietLeft > 0) {
            expect(polls).toBe(false);
            quietLeft -= 1;
          }
          if (polls) {
            if (report === 'caught' || report === 'within' || report === 'beyond') {
              governor.caught();
              streak = 0;
            } else {
              governor.missed();
              streak = Math.min(streak + 1, 8);
              quietLeft = 2 ** streak;
            }
          } else {
            governor.waited(report !== 'beyond');
          }
        }
      }),
    );
  });
});
