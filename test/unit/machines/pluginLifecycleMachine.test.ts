// Unit tests of the pure lifecycle machine on a simulated clock: every transition, every
// failure class and cause, the intensity window just under and just over its limit.
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { computeBackoff } from '../../../src/machines/computeBackoff.js';
import { defaultInput, machineHarness } from './lifecycleHarness.js';

const supervision = defaultInput.supervision;

describe('pluginLifecycleMachine: transitions', () => {
  it('starts in loaded with generation 0, and each start is a new generation', () => {
    const m = machineHarness();
    expect(m.state()).toBe('loaded');
    expect(m.actor.getSnapshot().context.generation).toBe(0);
    m.actor.send({ type: 'start' });
    expect(m.state()).toBe('starting');
    expect(m.gen().generation).toBe(1);
    m.ready();
    expect(m.state()).toBe('started');
    m.actor.send({ type: 'run' });
    expect(m.state()).toBe('running');
    m.actor.send({ type: 'pause' });
    expect(m.state()).toBe('started');
    m.actor.send({ type: 'run' });
    m.actor.send({ type: 'stop' });
    expect(m.state()).toBe('stopping');
    expect(m.gen().commands).toEqual(['stop']);
    m.stopped();
    expect(m.state()).toBe('stopped');
    expect(m.gen().disposed).toBe(true);
    m.actor.send({ type: 'start' });
    expect(m.gen().generation).toBe(2);
    expect(m.generations[0]?.disposed).toBe(true);
  });

  it('goes straight to running after start when run was asked during starting', () => {
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    m.actor.send({ type: 'run' });
    m.ready();
    expect(m.state()).toBe('running');
  });

  it('ignores commands that make no sense in a state, and reports of other generations', () => {
    const m = machineHarness();
    m.actor.send({ type: 'run' });
    m.actor.send({ type: 'pause' });
    expect(m.state()).toBe('loaded');
    m.actor.send({ type: 'start' });
    m.gen().report({ type: 'gen.ready', generation: 7 });
    expect(m.state()).toBe('starting');
    m.ready();
    m.gen().report({ type: 'gen.lost', generation: 0, fault: { cause: 'exit' } });
    expect(m.state()).toBe('started');
  });

  it('sends stop to the generation once, however many stops arrive', () => {
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    m.ready();
    m.actor.send({ type: 'stop' });
    m.actor.send({ type: 'stop' });
    m.clock.increment(999);
    m.actor.send({ type: 'stop' });
    m.clock.increment(1);
    expect(m.gen().commands).toEqual(['stop']);
    expect(m.actor.getSnapshot().context.failure).toMatchObject({ class: 'teardown', cause: 'timeout' });
  });

  it('goes from loaded to stopped on stop, without launching a generation', () => {
    const m = machineHarness();
    m.actor.send({ type: 'stop' });
    expect(m.state()).toBe('stopped');
    expect(m.generations).toHaveLength(0);
  });
});

describe('pluginLifecycleMachine: failure classes', () => {
  it('classifies a start failure as startup with its cause', () => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    m.startFailed({ cause: 'threw', detail: 'nope' });
    expect(m.state()).toBe('failed');
    expect(m.actor.getSnapshot().context.failure).toEqual({ class: 'startup', cause: 'threw', detail: 'nope', generation: 1 });
    expect(m.gen().disposed).toBe(true);
  });

  it('classifies a start that misses its deadline as startup/timeout', () => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    m.clock.increment(999);
    expect(m.state()).toBe('starting');
    m.clock.increment(1);
    expect(m.actor.getSnapshot().context.failure).toMatchObject({ class: 'startup', cause: 'timeout', generation: 1 });
  });

  it('classifies a death before ready as startup (exit, signal)', () => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    m.lost({ cause: 'signal', signal: 'SIGKILL' });
    expect(m.actor.getSnapshot().context.failure).toMatchObject({ class: 'startup', cause: 'signal', signal: 'SIGKILL' });
  });

  it.each(['exit', 'signal', 'oom', 'unresponsive', 'protocol', 'channel_closed'] as const)('classifies a death after ready as lost/%s', (cause) => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    m.ready();
    m.actor.send({ type: 'run' });
    m.lost({ cause });
    expect(m.actor.getSnapshot().context.failure).toMatchObject({ class: 'lost', cause, generation: 1 });
    expect(m.state()).toBe('failed');
  });

  it('classifies an exit with code 0 after ready as lost too', () => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    m.ready();
    m.lost({ cause: 'exit', exitCode: 0 });
    expect(m.actor.getSnapshot().context.failure).toMatchObject({ class: 'lost', cause: 'exit', exitCode: 0 });
  });

  it('classifies stop failures, deadline and a crash after a stop request as teardown', () => {
    for (const fail of ['threw', 'timeout', 'crash'] as const) {
      const m = machineHarness();
      m.actor.send({ type: 'start' });
      m.ready();
      m.actor.send({ type: 'stop' });
      if (fail === 'threw') m.stopFailed();
      else if (fail === 'timeout') m.clock.increment(1_000);
      else m.lost({ cause: 'signal', signal: 'SIGSEGV' });
      const context = m.actor.getSnapshot().context;
      expect(m.state()).toBe('failed');
      expect(context.failure?.class).toBe('teardown');
      expect(context.failure?.cause).toBe(fail === 'crash' ? 'signal' : fail);
      // A teardown failure is never restarted: the stop was asked for.
      m.clock.increment(60_000);
      expect(m.generations).toHaveLength(1);
    }
  });

  it('loses a generation on an input error only when policy says so', () => {
    const cont = machineHarness();
    cont.actor.send({ type: 'start' });
    cont.ready();
    cont.gen().report({ type: 'gen.inputFailed', generation: 1, detail: 'x' });
    expect(cont.state()).toBe('started');
    const restart = machineHarness({ supervision: { ...supervision, onInputError: 'restart' } });
    restart.actor.send({ type: 'start' });
    restart.ready();
    restart.gen().report({ type: 'gen.inputFailed', generation: 1, detail: 'input 3: boom' });
    expect(restart.actor.getSnapshot().context.failure).toMatchObject({ class: 'lost', cause: 'threw', detail: 'input 3: boom' });
  });

  it('declares a generation unresponsive when heartbeats stop, not while they come', () => {
    const m = machineHarness({ timeouts: { start: 1_000, stop: 1_000, heartbeat: 300 }, supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    m.ready();
    for (let i = 0; i < 10; i++) {
      m.clock.increment(299);
      m.heartbeat();
    }
    expect(m.state()).toBe('started');
    m.clock.increment(300);
    expect(m.actor.getSnapshot().context.failure).toMatchObject({ class: 'lost', cause: 'unresponsive' });
  });

  // Near its heap limit V8 collects again and again, each collection holding the plugin's
  // thread: a worker leaking small objects went 0.15–1.2 s without a beat before its
  // out-of-memory end, and a shorter deadline ended it `unresponsive`, sending whoever reads
  // the failure after a hang that was never there.
  it('classifies a missed heartbeat as oom when the last beat said the heap was near its limit', () => {
    const expire = (heapShares: readonly (number | undefined)[]) => {
      const m = machineHarness({ timeouts: { start: 1_000, stop: 1_000, heartbeat: 300 }, supervision: { ...supervision, policy: 'never' } });
      m.actor.send({ type: 'start' });
      m.ready();
      for (const heapShare of heapShares) {
        m.clock.increment(100);
        m.gen().report({ type: 'gen.heartbeat', generation: 1, ...(heapShare === undefined ? {} : { heapShare }) });
      }
      m.clock.increment(300);
      return m.actor.getSnapshot().context.failure;
    };
    expect(expire([0.5, 0.91])).toMatchObject({
      class: 'lost',
      cause: 'oom',
      detail: 'no heartbeat within 300 ms, its JavaScript heap at 91 % of limits.maxHeapMb at the last one (collections near the limit hold its thread)',
    });
    expect(expire([0.9])).toMatchObject({ cause: 'oom' });
    // What the last beat said decides: a heap that went down, or a beat that said nothing.
    expect(expire([0.95, 0.89])).toMatchObject({ cause: 'unresponsive', detail: 'no heartbeat within 300 ms' });
    expect(expire([0.95, undefined])).toMatchObject({ cause: 'unresponsive' });
    expect(expire([])).toMatchObject({ cause: 'unresponsive' });
  });

  it('counts one classification per failed generation', () => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    m.ready();
    m.lost();
    m.lost({ cause: 'signal' });
    m.gen().report({ type: 'gen.stopFailed', generation: 1, fault: { cause: 'threw' } });
    expect(m.actor.getSnapshot().context.failures).toBe(1);
  });
});

describe('pluginLifecycleMachine: supervision', () => {
  function runUp(m: ReturnType<typeof machineHarness>): void {
    m.ready();
    m.actor.send({ type: 'run' });
  }

  it('restarts after backoff into the state it was in, as a new generation', () => {
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    runUp(m);
    m.lost();
    expect(m.state()).toBe('failed');
    expect(m.actor.getSnapshot().context.backoffMs).toBe(100);
    m.clock.increment(99);
    expect(m.generations).toHaveLength(1);
    m.clock.increment(1);
    expect(m.state()).toBe('starting');
    expect(m.gen().generation).toBe(2);
    m.ready();
    expect(m.state()).toBe('running');
    expect(m.actor.getSnapshot().context.restarts).toBe(1);
  });

  it('grows the backoff exponentially up to its cap, and resets it after a stable period', () => {
    const m = machineHarness({ supervision: { ...supervision, intensity: { maxRestarts: 100, withinMs: 10_000 } } });
    m.actor.send({ type: 'start' });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      runUp(m);
      m.lost();
      const delay = m.actor.getSnapshot().context.backoffMs;
      delays.push(delay);
      m.clock.increment(delay);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    runUp(m);
    m.clock.increment(5_000);
    m.lost();
    expect(m.actor.getSnapshot().context.backoffMs).toBe(100);
  });

  it('survives restarts just under the intensity, gives up just over it', () => {
    // maxRestarts 3 within 10 s.
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    for (let i = 0; i < 3; i++) {
      runUp(m);
      m.lost();
      expect(m.actor.getSnapshot().matches({ failed: 'backoff' })).toBe(true);
      m.clock.increment(m.actor.getSnapshot().context.backoffMs);
    }
    runUp(m);
    m.lost();
    const snapshot = m.actor.getSnapshot();
    expect(snapshot.matches({ failed: 'terminal' })).toBe(true);
    expect(snapshot.context.exhausted).toBe(true);
    expect(snapshot.context.restarts).toBe(3);
  });

  it('forgets restarts once they leave the window', () => {
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    for (let i = 0; i < 3; i++) {
      runUp(m);
      m.lost();
      m.clock.increment(m.actor.getSnapshot().context.backoffMs);
    }
    runUp(m);
    // Just after the first restart's window ends, one slot is free again.
    m.clock.increment(10_000 - (100 + 200 + 400) + 1);
    expect(m.actor.getSnapshot().context.recentLost).toBeLessThan(3);
    // The window's timer actor is gone with it; the two still open keep theirs.
    const windowTimers = Object.keys(m.actor.getSnapshot().children).filter((id) => id.startsWith('window.'));
    expect(windowTimers).toHaveLength(m.actor.getSnapshot().context.windows.length);
    expect(windowTimers).toHaveLength(2);
    m.lost();
    expect(m.actor.getSnapshot().matches({ failed: 'backoff' })).toBe(true);
  });

  it('leaves no timer behind once stopped or failed for good (an open window would keep the process alive)', () => {
    /** A simulated clock that knows which of its timers are still pending. */
    class CountingClock extends SimulatedClock {
      readonly pending = new Set<unknown>();
      override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
        const id: number = super.setTimeout(() => {
          this.pending.delete(id);
          fn();
        }, timeout);
        this.pending.add(id);
        return id;
      }
      override clearTimeout(id: number): void {
        this.pending.delete(id);
        super.clearTimeout(id);
      }
    }
    for (const end of ['stop', 'terminal'] as const) {
      const clock = new CountingClock();
      const m = machineHarness({}, clock);
      m.actor.send({ type: 'start' });
      // Restarts, each opening a 10 s intensity window.
      for (let i = 0; i < (end === 'stop' ? 2 : 3); i++) {
        runUp(m);
        m.lost();
        m.clock.increment(m.actor.getSnapshot().context.backoffMs);
      }
      runUp(m);
      expect(m.actor.getSnapshot().context.windows.length).toBeGreaterThan(0);
      if (end === 'stop') {
        m.actor.send({ type: 'stop' });
        m.stopped();
        expect(m.state()).toBe('stopped');
      } else {
        m.lost();
        expect(m.actor.getSnapshot().matches({ failed: 'terminal' })).toBe(true);
      }
      expect(m.actor.getSnapshot().context.windows).toEqual([]);
      expect(clock.pending.size).toBe(0);
    }
  });

  it('transient: a clean exit 0 during start-up is final too, and no budget is said to be spent', () => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'transient' } });
    m.actor.send({ type: 'start' });
    m.startFailed({ cause: 'exit', exitCode: 0 });
    const snapshot = m.actor.getSnapshot();
    expect(snapshot.matches({ failed: 'terminal' })).toBe(true);
    expect(snapshot.context.failure).toMatchObject({ class: 'startup', cause: 'exit', exitCode: 0 });
    expect(snapshot.context.exhausted).toBe(false);
    expect(m.generations).toHaveLength(1);
    // Any other start-up failure is still retried under transient.
    const other = machineHarness({ supervision: { ...supervision, policy: 'transient' } });
    other.actor.send({ type: 'start' });
    other.startFailed({ cause: 'exit', exitCode: 3 });
    expect(other.actor.getSnapshot().matches({ failed: 'backoff' })).toBe(true);
  });

  it('keeps a separate, stricter budget for startup failures', () => {
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    m.startFailed();
    m.clock.increment(m.actor.getSnapshot().context.backoffMs);
    m.startFailed();
    m.clock.increment(m.actor.getSnapshot().context.backoffMs);
    m.startFailed();
    const snapshot = m.actor.getSnapshot();
    expect(snapshot.matches({ failed: 'terminal' })).toBe(true);
    expect(snapshot.context.exhausted).toBe(true);
    expect(snapshot.context.recentLost).toBe(0);
    expect(m.generations).toHaveLength(3);
  });

  it('transient: does not restart a clean exit (code 0), restarts any other loss', () => {
    const t = { ...supervision, policy: 'transient' as const };
    const clean = machineHarness({ supervision: t });
    clean.actor.send({ type: 'start' });
    runUp(clean);
    clean.lost({ cause: 'exit', exitCode: 0 });
    expect(clean.actor.getSnapshot().matches({ failed: 'terminal' })).toBe(true);
    expect(clean.actor.getSnapshot().context.exhausted).toBe(false);
    const crash = machineHarness({ supervision: t });
    crash.actor.send({ type: 'start' });
    runUp(crash);
    crash.lost({ cause: 'exit', exitCode: 3 });
    expect(crash.actor.getSnapshot().matches({ failed: 'backoff' })).toBe(true);
  });

  it('never: the first failure is terminal, without claiming a budget was spent', () => {
    const m = machineHarness({ supervision: { ...supervision, policy: 'never' } });
    m.actor.send({ type: 'start' });
    runUp(m);
    m.lost();
    expect(m.actor.getSnapshot().matches({ failed: 'terminal' })).toBe(true);
    expect(m.actor.getSnapshot().context.exhausted).toBe(false);
  });

  it('stop during backoff cancels the restart', () => {
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    runUp(m);
    m.lost();
    m.actor.send({ type: 'stop' });
    expect(m.state()).toBe('stopped');
    m.clock.increment(10_000);
    expect(m.generations).toHaveLength(1);
    expect(m.actor.getSnapshot().context.failure).toBeUndefined();
  });

  it('a manual start after a terminal failure resets the budgets', () => {
    const m = machineHarness({ supervision: { ...supervision, intensity: { maxRestarts: 0, withinMs: 10_000 } } });
    m.actor.send({ type: 'start' });
    runUp(m);
    m.lost();
    expect(m.actor.getSnapshot().matches({ failed: 'terminal' })).toBe(true);
    m.actor.send({ type: 'start' });
    expect(m.state()).toBe('starting');
    expect(m.actor.getSnapshot().context).toMatchObject({ generation: 2, exhausted: false, recentLost: 0 });
  });

  it('start during backoff restarts at once', () => {
    const m = machineHarness();
    m.actor.send({ type: 'start' });
    runUp(m);
    m.lost();
    m.actor.send({ type: 'start' });
    expect(m.state()).toBe('starting');
    expect(m.gen().generation).toBe(2);
  });
});

describe('computeBackoff', () => {
  it('stays within ±jitter of the capped exponential delay and is reproducible from its seed', () => {
    const settings = { initialMs: 100, maxMs: 2_000, factor: 3, jitter: 0.5 };
    let rng = 123;
    for (let attempt = 0; attempt < 20; attempt++) {
      const base = Math.min(2_000, 100 * 3 ** attempt);
      const { delayMs, rng: next } = computeBackoff(settings, attempt, rng);
      expect(delayMs).toBeGreaterThanOrEqual(Math.floor(base * 0.5));
      expect(delayMs).toBeLessThanOrEqual(Math.ceil(base * 1.5));
      expect(computeBackoff(settings, attempt, rng).delayMs).toBe(delayMs);
      rng = next;
    }
  });
});
