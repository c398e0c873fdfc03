// The nemesis checker must be able to fail: each invariant is shown a small history that
// breaks it (and only it), and a clean history passes. Synthetic histories, no runtime.
import { describe, expect, it } from 'vitest';
import type { Failure, LedgerCounters, LifecycleState } from 'plugin-seam';
import type { HistoryEvent } from './History.js';
import { checkHistory, formatViolations } from './checkHistory.js';

type Unstamped<E> = E extends unknown ? Omit<E, 't' | 'instance'> : never;
type Draft = Unstamped<HistoryEvent>;

const BUDGETS = { a: { intensity: { maxRestarts: 1, withinMs: 1_000 }, startup: { maxRestarts: 1, withinMs: 1_000 } } };
/** Events are 10 ms apart: a stopped process is due to be found 2 events (heartbeat) or 4 (stop) on. */
const OPTIONS = { budgets: BUDGETS, slackMs: 0, deadlines: { heartbeatMs: 5, stopMs: 15 }, lateMs: 1 };

/** Stamps drafts 10 ms apart, all of instance `a`. */
function history(drafts: readonly Draft[]): HistoryEvent[] {
  return drafts.map((d, i) => ({ ...d, t: i * 10, instance: 'a' }));
}

const status = (state: LifecycleState, generation: number, extra: { failure?: Failure; scheduled?: boolean; restarts?: number } = {}): Draft => ({
  kind: 'status',
  state,
  generation,
  restarts: extra.restarts ?? 0,
  scheduled: extra.scheduled ?? false,
  ...(extra.failure === undefined ? {} : { failure: extra.failure }),
});
const counters = (c: Partial<LedgerCounters>): LedgerCounters => ({ accepted: 0, done: 0, failed: 0, dropped: 0, lost: 0, queued: 0, inFlight: 0, refused: 0, outputs: 0, stale: 0, ...c });
const lost = (generation: number, cause: Failure['cause'] = 'signal'): Failure => ({ class: 'lost', cause, generation });

/** A clean run: launch, one input done, one output, clean stop, drained end. */
const CLEAN: readonly Draft[] = [
  status('loaded', 0),
  status('starting', 1),
  status('running', 1),
  { kind: 'submit', generation: 1, input: 1, what: 'message' },
  { kind: 'output', generation: 1, channel: 'x', seq: 1, of: 1, emittedBy: 1, n: 1 },
  { kind: 'outcome', generation: 1, input: 1, outcome: 'done', of: 1 },
  { kind: 'ledger', generation: 1, counters: counters({ accepted: 1, done: 1, outputs: 1 }) },
  status('stopping', 1),
  status('stopped', 1),
  { kind: 'end', generation: 1, counters: counters({ accepted: 1, done: 1, outputs: 1 }), survivors: [] },
];

function rules(drafts: readonly Draft[]): string[] {
  return [...new Set(checkHistory(history(drafts), OPTIONS).map((v) => v.rule))];
}

/** Log lines of generation 1: time passing, 10 ms an event. */
function padding(n: number): Draft[] {
  return Array.from({ length: n }, (): Draft => ({ kind: 'log', generation: 1, of: 1 }));
}

/** CLEAN with `replace` spliced in at `at` (replacing `remove` events). */
function variant(at: number, remove: number, ...replace: Draft[]): Draft[] {
  const copy = [...CLEAN];
  copy.splice(at, remove, ...replace);
  return copy;
}

describe('checkHistory', () => {
  it('passes a clean history', () => {
    expect(rules(CLEAN)).toEqual([]);
  });

  it.each([
    ['fence: output of a generation after it failed', variant(7, 2, status('failed', 1, { failure: lost(1) }), { kind: 'output', generation: 1, channel: 'x', seq: 2, of: 1 }, status('stopped', 1)), 'fence'],
    [
      'fence: output of generation 1 once generation 2 began',
      variant(7, 2, status('failed', 1, { failure: lost(1), scheduled: true }), status('starting', 2, { restarts: 1 }), { kind: 'output', generation: 2, channel: 'x', seq: 2, of: 1 }, status('stopping', 2), status('stopped', 2)),
      'fence',
    ],
    ['fence: a log after the generation ended', variant(9, 0, { kind: 'log', generation: 1, of: 1 }), 'fence'],
    ['fence: emitted by one generation, delivered as another', variant(4, 1, { kind: 'output', generation: 1, channel: 'x', seq: 1, of: 1, emittedBy: 2 }), 'fence'],
    ['emission-order: seq going back', variant(5, 0, { kind: 'output', generation: 1, channel: 'x', seq: 1, of: 1, n: 2 }), 'emission-order'],
    ['emission-order: a generation emission out of order', variant(5, 0, { kind: 'output', generation: 1, channel: 'x', seq: 2, of: 1, n: 1 }), 'emission-order'],
    ['one-outcome: a second outcome', variant(6, 0, { kind: 'outcome', generation: 1, input: 1, outcome: 'lost', of: 1 }), 'one-outcome'],
    ['one-outcome: an input without outcome', variant(5, 1), 'one-outcome'],
    ['one-outcome: an outcome without input', variant(3, 1), 'one-outcome'],
    ['lost-names-ended: lost with a live generation', variant(5, 1, { kind: 'outcome', generation: 1, input: 1, outcome: 'lost', of: 1 }), 'lost-names-ended'],
    ['transition: stopped → running', variant(9, 0, status('running', 1)), 'transition'],
    ['transition: a launch skipping a generation', variant(9, 0, status('starting', 3), status('stopping', 3), status('stopped', 3)), 'transition'],
    ['launch-after-end: a launch while the previous generation lives', variant(7, 2, status('starting', 2), status('stopping', 2), status('stopped', 2)), 'transition'],
    ['failure-class: lost from starting', variant(2, 1, status('failed', 1, { failure: lost(1, 'exit') }), status('stopped', 1)), 'failure-class'],
    [
      'classified-once: a second classification',
      variant(7, 2, status('failed', 1, { failure: lost(1), scheduled: true }), status('failed', 1, { failure: { class: 'lost', cause: 'exit', generation: 1 } }), status('stopped', 1)),
      'classified-once',
    ],
    [
      'intensity: two restarts within a window of one',
      variant(
        7,
        2,
        status('failed', 1, { failure: lost(1), scheduled: true }),
        status('starting', 2, { restarts: 1 }),
        status('running', 2, { restarts: 1 }),
        status('failed', 2, { failure: lost(2), scheduled: true, restarts: 1 }),
        status('stopped', 2, { restarts: 1 }),
      ),
      'intensity',
    ],
    ['intensity: terminal with budget left', variant(7, 2, status('failed', 1, { failure: lost(1) }), status('stopped', 1)), 'intensity'],
    ['ledger: unbalanced snapshot', variant(6, 1, { kind: 'ledger', generation: 1, counters: counters({ accepted: 2, done: 1 }) }), 'ledger'],
    ['ledger: end counters differ from outcomes seen', variant(9, 1, { kind: 'end', generation: 1, counters: counters({ accepted: 1, lost: 1, outputs: 1 }), survivors: [] }), 'ledger'],
    ['ledger: outputs counted but not delivered', variant(9, 1, { kind: 'end', generation: 1, counters: counters({ accepted: 1, done: 1, outputs: 2 }), survivors: [] }), 'ledger'],
    ['ledger: not drained at the end', variant(9, 1, { kind: 'end', generation: 1, counters: counters({ accepted: 2, done: 1, queued: 1 }), survivors: [] }), 'ledger'],
    ['pool: a slot that never came back', variant(9, 0, { kind: 'pool', generation: 1, acquired: 7, slots: 8 }), 'pool'],
    ['children: a survivor', variant(9, 1, { kind: 'end', generation: 1, counters: counters({ accepted: 1, done: 1, outputs: 1 }), survivors: [4242] }), 'children'],
    [
      'stop-detected: continued while still running',
      variant(6, 0, { kind: 'fault', generation: 1, fault: 'SIGSTOP(long)', pid: 7, state: 'running' }, ...padding(1), { kind: 'fault', generation: 1, fault: 'SIGCONT', pid: 7, state: 'running' }),
      'stop-detected',
    ],
    [
      'stop-detected: continued while still stopping, past the stop deadline from the stop request',
      variant(
        7,
        2,
        { kind: 'fault', generation: 1, fault: 'SIGSTOP(long)', pid: 7, state: 'running' },
        status('stopping', 1),
        ...padding(4),
        { kind: 'fault', generation: 1, fault: 'SIGCONT', pid: 7, state: 'stopping' },
      ),
      'stop-detected',
    ],
    [
      'one-stop: a process stopped again while stopped',
      variant(
        6,
        0,
        { kind: 'fault', generation: 1, fault: 'SIGSTOP(short)', pid: 7, state: 'running' },
        { kind: 'fault', generation: 1, fault: 'SIGSTOP(long)', pid: 7, state: 'running' },
        { kind: 'fault', generation: 1, fault: 'SIGCONT', pid: 7, state: 'running' },
      ),
      'one-stop',
    ],
    ['kill-detected: a SIGKILLed generation that never ends', variant(7, 3, { kind: 'fault', generation: 1, fault: 'SIGKILL', pid: 7, state: 'running' }), 'kill-detected'],
  ] as const)('%s', (_name, drafts, rule) => {
    expect(rules(drafts)).toContain(rule);
  });

  it('accepts what is legal: a short stop, a detected long stop, a detected kill', () => {
    const drafts = variant(
      7,
      2,
      { kind: 'fault', generation: 1, fault: 'SIGSTOP(short)', pid: 7, state: 'running' },
      { kind: 'fault', generation: 1, fault: 'SIGCONT', pid: 7, state: 'running' },
      { kind: 'fault', generation: 1, fault: 'SIGSTOP(long)', pid: 7, state: 'running' },
      status('failed', 1, { failure: lost(1, 'unresponsive'), scheduled: true }),
      { kind: 'fault', generation: 1, fault: 'SIGCONT', pid: 7, state: 'failed' },
      status('starting', 2, { restarts: 1 }),
      status('running', 2, { restarts: 1 }),
      { kind: 'fault', generation: 2, fault: 'SIGKILL', pid: 8, state: 'running' },
      status('failed', 2, { failure: lost(2), restarts: 1 }),
      status('stopped', 2, { restarts: 1 }),
    );
    expect(rules(drafts)).toEqual([]);
  });

  it('accepts a long stop continued while stopping inside the stop deadline, which began after the stop', () => {
    const drafts = variant(
      7,
      2,
      { kind: 'fault', generation: 1, fault: 'SIGSTOP(long)', pid: 7, state: 'running' },
      ...padding(3),
      status('stopping', 1),
      ...padding(2),
      { kind: 'fault', generation: 1, fault: 'SIGCONT', pid: 7, state: 'stopping' },
      status('failed', 1, { failure: { class: 'teardown', cause: 'timeout', generation: 1 } }),
      status('stopped', 1),
    );
    expect(rules(drafts)).toEqual([]);
  });

  it('prints the stop and the continue of a stop-detected violation, however far apart', () => {
    const between = Array.from({ length: 40 }, (_, n) => ({ kind: 'submit' as const, generation: 1, what: 'frame' as const, input: 100 + n }));
    const drafts = variant(
      6,
      0,
      { kind: 'fault', generation: 1, fault: 'SIGSTOP(long)', pid: 7, state: 'running' },
      ...between,
      { kind: 'fault', generation: 1, fault: 'SIGCONT', pid: 7, state: 'running' },
    );
    const events = history(drafts);
    const text = formatViolations(events, checkHistory(events, OPTIONS).filter((v) => v.rule === 'stop-detected'));
    expect(text).toMatch(/>> #\d+ .* FAULT SIGSTOP\(long\) pid 7 in running/);
    expect(text).toMatch(/>> #\d+ .* FAULT SIGCONT pid 7 in running/);
    expect(text).toContain('…');
  });

  it('prints the violating part of the history', () => {
    const events = history(variant(7, 2, status('failed', 1, { failure: lost(1) }), { kind: 'output', generation: 1, channel: 'late', seq: 2, of: 1 }, status('stopped', 1)));
    const text = formatViolations(events, checkHistory(events, OPTIONS));
    expect(text).toMatch(/\[fence\] a: output late of generation 1 delivered in failed/);
    expect(text).toMatch(/>> #8 .* output late seq 2 of g1/);
  });
});
