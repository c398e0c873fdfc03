// The model's call tracker must be able to fail: overdue calls, impossible outcomes, a lost
// outcome naming a live generation, a frame with two outcomes — each is reported.
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InputFailed, LostWhileRunning } from 'plugin-seam';
import type { FrameOutcome } from 'plugin-seam';
import { CallTracker } from './CallTracker.js';

function tracker(options: { now?: () => number; ended?: (g: number) => boolean; begins?: Map<string, number> } = {}): CallTracker {
  return new CallTracker({ now: options.now ?? (() => 0), inputBudgetMs: 100, ended: options.ended ?? (() => true), begins: options.begins ?? new Map() });
}

const never = new Promise<never>(() => undefined);

describe('CallTracker', () => {
  it('reports a control call past its deadline, and an input past its budget once begun', () => {
    let now = 0;
    const begins = new Map<string, number>();
    const calls = tracker({ now: () => now, begins });
    calls.control('stop', never, 50);
    calls.message('send(hang)', 'm1', never);
    expect(calls.overdue()).toEqual([]);
    now = 60;
    expect(calls.overdue()).toEqual(['stop issued @0 still pending @60 (due @50)']);
    begins.set('m1', 10);
    now = 110;
    expect(calls.overdue()).toContain('send(hang) [m1] issued @0 still pending @110 (due @110)');
  });

  it('counts outcomes and reports impossible ones', async () => {
    const calls = tracker({ ended: (g) => g !== 2 });
    calls.message('send(echo)', 'm1', Promise.reject(new InputFailed(1, { generation: 1 })), ['failed']);
    calls.message('send(echo)', 'm2', Promise.reject(new LostWhileRunning({ failureCause: 'exit', generation: 2 })));
    calls.message('send(echo)', 'm3', Promise.resolve('ok'));
    calls.message('send(echo)', 'm4', Promise.reject(new Error('not an input outcome')));
    await calls.allSettled(1_000);
    expect(calls.counts).toMatchObject({ done: 1, failed: 1, lost: 1 });
    expect(calls.violations.join('\n')).toMatch(/\[m1\] ended failed, which it never can/);
    expect(calls.violations.join('\n')).toMatch(/\[m2\] reported lost with generation 2, which has not ended/);
    expect(calls.violations.join('\n')).toMatch(/\[m4\] rejected with an error that is no input outcome/);
  });

  it('reports a frame with two outcomes and a stream that completes short', async () => {
    const calls = tracker();
    const outcomes = new Subject<FrameOutcome>();
    calls.frames('frames(2)', outcomes, 2);
    outcomes.next({ seq: 1, generation: 1, kind: 'done' });
    outcomes.next({ seq: 1, generation: 1, kind: 'dropped', reason: 'again' });
    outcomes.complete();
    await calls.allSettled(1_000);
    expect(calls.violations.join('\n')).toMatch(/frame 1 has a second outcome/);
  });
});
