// The guest loop's wait for a message the host already posted (embedded mode's port wait):
// after a blocking park a ring ended, with CONTROL_POSTED saying the next delivery is a
// message, the loop waits for the port itself — the message then runs; a stop ends the wait;
// a host that withdrew CONTROL_POSTED (its post threw) has the wait ended by the heartbeat
// tick. Driven on one thread: the "host" is the test, the blocking wait is injected (it plays
// the host's ring), the plugin is the conformance fixture.
import { describe, expect, it } from 'vitest';
import type { GuestChannel } from '../../../src/adapters/guest/GuestSession.js';
import { BLOCKING_PARK_MS, GuestSession } from '../../../src/adapters/guest/GuestSession.js';
import { EVENT_LOOP_TURN_MS } from '../../../src/adapters/Adapter.js';
import { CONTROL_BYTES, CONTROL_POSTED, PROTOCOL_VERSION } from '../../../src/adapters/protocol.js';
import type { GuestToHost, HostToGuest } from '../../../src/adapters/protocol.js';
import { computeSegmentLayout } from '../../../src/transport/segmentLayout.js';

const FIXTURE = new URL('../../fixtures/plugins/behaviour.mjs', import.meta.url).href;
const HEARTBEAT_MS = 50;

interface Harness {
  readonly session: GuestSession;
  readonly control: Int32Array;
  readonly posted: GuestToHost[];
  /** Times the loop slept in the (injected) blocking wait. */
  readonly waits: () => number;
  /** The timeout, in ms, of each of those waits. */
  readonly timeouts: readonly number[];
  /** Resolves at the loop's first blocking wait. */
  readonly firstWait: Promise<void>;
  /** Resolves at the loop's next blocking wait. */
  nextWait(): Promise<void>;
  send(dseq: number, message: unknown): void;
  /** Resolves once the host got an outcome for `seq`. */
  outcome(seq: number): Promise<GuestToHost>;
}

function harness(now: () => number = () => 0, blockingParkMs = 1): Harness {
  const layout = computeSegmentLayout({ slots: 2, slotBytes: 64, ringCapacity: 4 });
  const rings = new SharedArrayBuffer(layout.totalBytes + CONTROL_BYTES);
  const control = new Int32Array(rings, layout.totalBytes, CONTROL_BYTES / 4);
  const posted: GuestToHost[] = [];
  const waiting = new Map<number, (message: GuestToHost) => void>();
  let listener: ((message: HostToGuest) => void) | undefined;
  let waits = 0;
  const timeouts: number[] = [];
  let onWait: (() => void) | undefined;
  let reachedFirstWait: () => void = () => undefined;
  const firstWait = new Promise<void>((resolve) => {
    reachedFirstWait = resolve;
  });
  const channel: GuestChannel = {
    post: (message) => {
      posted.push(message);
      if (message.t === 'outcome') waiting.get(message.seq)?.(message);
    },
    listen: (l) => {
      listener = l;
    },
    blockingParkMs,
    // By default a clock that never moves: however long this machine stalls, the loop never
    // owes the event loop a turn nor runs out of park budget, so it takes the same path every run.
    now,
    // The first wait plays the host posting message 1 and ringing: it publishes
    // CONTROL_POSTED, then ends the wait. Later waits time out (nothing more comes).
    blockingWait: (_word, _expected, timeoutMs) => {
      waits += 1;
      timeouts.push(timeoutMs);
      if (waits === 1) reachedFirstWait();
      onWait?.();
      onWait = undefined;
      if (waits > 1) return 'timed-out';
      Atomics.store(control, CONTROL_POSTED, 1);
      return 'ok';
    },
  };
  const session = new GuestSession(
    {
      version: PROTOCOL_VERSION,
      instanceId: 'guest-session-test',
      generation: 1,
      moduleUrl: FIXTURE,
      config: undefined,
      frames: { buffer: new SharedArrayBuffer(128), slots: 2, slotBytes: 64, slotStride: 64, slotsOffset: 0 },
      rings: { buffer: rings, capacity: 4 },
      control: { buffer: rings, byteOffset: layout.totalBytes, heartbeatMs: HEARTBEAT_MS },
      haltOnInputError: false,
      poisonReleased: false,
    },
    layout,
    channel,
  );
  return {
    session,
    control,
    posted,
    waits: () => waits,
    timeouts,
    firstWait,
    nextWait: () =>
      new Promise<void>((resolve) => {
        onWait = resolve;
      }),
    send: (dseq, message) => {
      listener?.({ t: 'message', dseq, seq: dseq, message });
    },
    outcome: (seq) =>
      new Promise((resolve) => {
        const found = posted.find((m) => m.t === 'outcome' && m.seq === seq);
        if (found !== undefined) resolve(found);
        else waiting.set(seq, resolve);
      }),
  };
}

/** Gives the loop a few turns to do what it should not (park again, post an outcome). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
  }
}

describe('GuestSession: waiting for a message the host posted', () => {
  it('waits for the port after a ring, then runs the message', async () => {
    const h = harness();
    await h.session.start();
    await h.firstWait;
    await turns();
    // Woken for dseq 1, which is not here yet: the loop waits on the port, not in a new park.
    expect(h.waits()).toBe(1);
    await turns();
    expect(h.waits()).toBe(1);
    h.send(1, { op: 'echo', value: 'by port' });
    await expect(h.outcome(1)).resolves.toMatchObject({ t: 'outcome', seq: 1, ok: true, value: 'by port' });
    await h.session.stop(1);
  });

  it('ends the wait when stop() comes first', async () => {
    const h = harness();
    await h.session.start();
    await h.firstWait;
    await turns();
    // Stop with nothing handed over: the wait ends and the plugin's stop runs.
    await expect(h.session.stop(0)).resolves.toBeGreaterThanOrEqual(0);
    expect(h.posted.some((m) => m.t === 'outcome')).toBe(false);
  });

  it('ends the wait at the heartbeat tick when the host withdrew CONTROL_POSTED', async () => {
    const h = harness();
    await h.session.start();
    await h.firstWait;
    await turns();
    expect(h.waits()).toBe(1);
    const waitsBefore = h.waits();
    // The host's post threw: it rolls CONTROL_POSTED back. The loop must not wait for good:
    // the heartbeat tick ends the wait and the loop parks again.
    const parkedAgain = h.nextWait();
    Atomics.store(h.control, CONTROL_POSTED, 0);
    await parkedAgain;
    expect(h.waits()).toBeGreaterThan(waitsBefore);
    await h.session.stop(0);
  });

  it('sleeps the whole blocking wait, not what is left of the turn budget (a timeout under a kernel tick costs every wake-up)', async () => {
    // The loop's first read of the clock is when the event loop last ran; every later read
    // finds 3 of EVENT_LOOP_TURN_MS's 4 ms gone. No turn is owed yet, so the loop sleeps, and
    // for the whole BLOCKING_PARK_MS — cut to the 1 ms left, the wait would most often end
    // before the kernel's next tick and reprogram the timer twice.
    let reads = 0;
    const h = harness(() => (reads++ === 0 ? 0 : EVENT_LOOP_TURN_MS - 1), BLOCKING_PARK_MS);
    await h.session.start();
    await h.firstWait;
    expect(h.timeouts[0]).toBe(BLOCKING_PARK_MS);
    expect(BLOCKING_PARK_MS).toBeGreaterThanOrEqual(4);
    await h.session.stop(0);
  });

  it('runs inputs even when its clock jumps past the turn budget between every two reads (a descheduled thread)', async () => {
    let ms = 0;
    const h = harness(() => (ms += 5));
    await h.session.start();
    // Every check finds the loop owing the event loop a turn; it takes one, then runs what
    // is there instead of checking again (which, on this clock, would never end).
    h.send(1, { op: 'echo', value: 'late' });
    await expect(h.outcome(1)).resolves.toMatchObject({ t: 'outcome', seq: 1, ok: true, value: 'late' });
    await h.session.stop(1);
  }, 10_000);
});
