// The model's observer must be able to fail: a fake instance (the streams and the few
// fields the observer reads) publishes histories that break one rule each.
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Failure, LedgerCounters, LifecycleState, PluginInstance, PluginLog, PluginOutput, PluginStatus } from 'plugin-seam';
import { LifecycleObserver } from './LifecycleObserver.js';

const COUNTERS: LedgerCounters = { accepted: 0, done: 0, failed: 0, dropped: 0, lost: 0, queued: 0, inFlight: 0, refused: 0, outputs: 0, stale: 0 };

/** Just what the observer reads of an instance. */
class FakeInstance {
  readonly status$ = new Subject<PluginStatus>();
  readonly outputs$ = new Subject<PluginOutput>();
  readonly logs$ = new Subject<PluginLog>();
  status: PluginStatus = { id: 'fake', mode: 'inline', state: 'loaded', generation: 0, restarts: 0, transport: 'direct', counters: COUNTERS };
  failures = 0;
  readonly actor = { getSnapshot: () => ({ context: { failures: this.failures, restarts: this.status.restarts } }) };
  #seq = 0;

  set(state: LifecycleState, generation: number, extra: { failure?: Failure; scheduled?: boolean; restarts?: number } = {}): void {
    if (extra.failure !== undefined) this.failures += 1;
    this.status = {
      ...this.status,
      state,
      generation,
      restarts: extra.restarts ?? this.status.restarts,
      ...(extra.failure === undefined ? {} : { failure: extra.failure }),
      ...(state === 'failed' ? { restart: { scheduled: extra.scheduled ?? false, delayMs: 0, exhausted: false } } : {}),
    };
    this.status$.next(this.status);
  }

  emit(generation: number, n: number): void {
    this.#seq += 1;
    this.outputs$.next({ channel: 'x', value: { generation, n }, generation, seq: this.#seq });
  }
}

function observe(): { fake: FakeInstance; observer: LifecycleObserver } {
  const fake = new FakeInstance();
  const budget = { maxRestarts: 1, withinMs: 1_000 };
  const observer = new LifecycleObserver(fake as unknown as PluginInstance, { now: () => 0, intensity: budget, startup: budget });
  return { fake, observer };
}

const lost = (generation: number): Failure => ({ class: 'lost', cause: 'exit', generation });

describe('LifecycleObserver', () => {
  it('accepts a legal story: launch, run, lose, restart, stop', () => {
    const { fake, observer } = observe();
    fake.set('starting', 1);
    fake.set('running', 1);
    fake.emit(1, 1);
    fake.set('failed', 1, { failure: lost(1), scheduled: true });
    fake.set('starting', 2, { restarts: 1 });
    fake.set('running', 2);
    fake.emit(2, 1);
    fake.set('stopping', 2);
    fake.set('stopped', 2);
    observer.checkNow();
    expect(observer.violations).toEqual([]);
  });

  it.each([
    [
      'an illegal transition',
      (f: FakeInstance) => {
        f.set('running', 0);
      },
      /illegal transition loaded → running/,
    ],
    [
      'output after its generation failed',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.set('failed', 1, { failure: lost(1), scheduled: true });
        f.emit(1, 1);
      },
      /output x #1 of generation 1 delivered in failed/,
    ],
    [
      'a log of an older generation',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.logs$.next({ level: 'info', message: 'late', generation: 0 });
      },
      /log line of generation 0 delivered in starting of generation 1/,
    ],
    [
      'emissions out of order',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.emit(1, 2);
        f.emit(1, 1);
      },
      /emission order broken/,
    ],
    [
      'a generation classified twice',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.set('failed', 1, { failure: lost(1), scheduled: true });
        f.set('failed', 1, { failure: { class: 'lost', cause: 'signal', generation: 1 }, scheduled: true });
      },
      /classified twice/,
    ],
    [
      'a failure of the wrong class',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.set('running', 1);
        f.set('failed', 1, { failure: { class: 'startup', cause: 'exit', generation: 1 }, scheduled: true });
      },
      /from running classified as startup/,
    ],
    [
      'a launch before the previous generation ended',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.set('stopping', 1);
        f.set('failed', 1, { failure: { class: 'teardown', cause: 'exit', generation: 1 } });
        f.set('starting', 3);
      },
      /generation 3 launched after generation 1/,
    ],
    [
      'a terminal failure with budget left',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.set('running', 1);
        f.set('failed', 1, { failure: lost(1) });
      },
      /not restarted with 0 of 1 lost restarts used/,
    ],
    [
      'restarts beyond the intensity',
      (f: FakeInstance) => {
        f.set('starting', 1);
        f.set('running', 1);
        f.set('failed', 1, { failure: lost(1), scheduled: true });
        f.set('starting', 2, { restarts: 1 });
        f.set('running', 2);
        f.set('failed', 2, { failure: lost(2), scheduled: true });
      },
      /2 lost restarts scheduled within 1000 ms \(max 1\)/,
    ],
  ] as const)('reports %s', (_name, act, message) => {
    const { fake, observer } = observe();
    act(fake);
    observer.checkNow();
    expect(observer.violations.join('\n')).toMatch(message);
  });
});
