import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { DescriptorRing } from '../../../src/transport/DescriptorRing.js';
import { Doorbell, MAX_SPIN_MICROS, atomicsNotify } from '../../../src/transport/Doorbell.js';
import { createSegment, descriptor, type Segment } from './support/segmentFixture.js';
import { compileTransport, startWorker, waitUntil, type CompiledTransport } from './support/workerHarness.js';

const SLOTS = 4;
const SLOT_BYTES = 256;
const STOP_KIND = 9;
// Control words shared with the guest (a separate buffer: test plumbing, not protocol).
const GATE = 0;
const GO = 1;

/**
 * Guest: a consumer of the submit ring parked with the blocking `Doorbell.park`, echoing every
 * descriptor on the complete ring and ringing the host. Its park condition also requires the
 * GATE word, so a test can keep it parked while it publishes, and decide when it may wake.
 */
const ECHO_GUEST = `
import { parentPort, workerData } from 'node:worker_threads';
import { readSegmentHeader } from './segmentLayout.js';
import { DescriptorRing } from './DescriptorRing.js';
import { Doorbell } from './Doorbell.js';

const { sab, ctlSab, waitForGo } = workerData;
const ctl = new Int32Array(ctlSab);
const read = readSegmentHeader(sab);
if (!read.ok) throw new Error('bad header: ' + read.detail);
const { layout, header } = read;
const base = { slots: layout.slots, slotBytes: layout.slotBytes };
const submit = new DescriptorRing(sab, layout.submit, { ...base, role: 'consumer', expectedGeneration: header.generation });
const complete = new DescriptorRing(sab, layout.complete, { ...base, role: 'producer' });
const submitBell = new Doorbell(sab, layout.submit.consumerParkOffset);
const hostBell = new Doorbell(sab, layout.complete.consumerParkOffset);

if (waitForGo) Atomics.wait(ctl, ${GO}, 0, 10000);
const parks = [];
let hostNotifies = 0;
let running = true;
let error;
while (running) {
  const outcome = submitBell.park(() => Atomics.load(ctl, ${GATE}) === 1 && submit.hasPending(), 10000);
  if (outcome === 'timed-out') { error = 'guest park timed out'; break; }
  let echoed = 0;
  submit.drain(Infinity, (d) => {
    if (d.kind === ${STOP_KIND}) { running = false; return; }
    echoed++;
    if (!complete.tryPush({ ...d, kind: 1 })) { error = 'complete ring full'; running = false; return; }
    if (hostBell.ring()) hostNotifies++;
  });
  if (submit.violation) { error = submit.violation.detail; break; }
  parks.push([outcome, echoed]);
}
parentPort.postMessage({ parks, hostNotifies, error });
`;

interface GuestReport {
  /** Per park: its outcome and the items echoed in the drain that followed (the stop item excluded). */
  readonly parks: [string, number][];
  readonly hostNotifies: number;
  readonly error?: string;
}

let compiled: CompiledTransport | undefined;
let guestScript: URL;
const workers: Worker[] = [];

beforeAll(async () => {
  compiled = await compileTransport();
  guestScript = await compiled.script('echoGuest.js', ECHO_GUEST);
}, 30_000);

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

afterAll(async () => {
  await compiled?.cleanup();
});

/** The host's ends of both rings and bells, with a counting notify on the guest's bell. */
function hostSide(segment: Segment) {
  const { sab, layout } = segment;
  const base = { slots: layout.slots, slotBytes: layout.slotBytes };
  const counts = { guestNotifies: 0 };
  return {
    counts,
    submit: new DescriptorRing(sab, layout.submit, { ...base, role: 'producer' }),
    complete: new DescriptorRing(sab, layout.complete, { ...base, role: 'consumer', expectedGeneration: 1 }),
    guestBell: new Doorbell(sab, layout.submit.consumerParkOffset, {
      notify: (word) => {
        counts.guestNotifies += 1;
        atomicsNotify(word);
      },
    }),
    hostBell: new Doorbell(sab, layout.complete.consumerParkOffset),
  };
}

function startGuest(segment: Segment, options: { gateOpen: boolean; waitForGo?: boolean }) {
  const ctl = new Int32Array(new SharedArrayBuffer(64));
  ctl[GATE] = options.gateOpen ? 1 : 0;
  const started = startWorker(guestScript, { sab: segment.sab, ctlSab: ctl.buffer, waitForGo: options.waitForGo ?? false });
  workers.push(started.worker);
  return { ctl, report: started.firstMessage as Promise<GuestReport> };
}

const desc = (seq: number, kind = 0) => descriptor(seq, SLOTS, SLOT_BYTES, { kind });

function newSegment(): Segment {
  return createSegment({ slots: SLOTS, slotBytes: SLOT_BYTES, ringCapacity: 1024 });
}

describe('Doorbell (one thread)', () => {
  function bell() {
    const sab = new SharedArrayBuffer(64);
    const calls: Int32Array[] = [];
    const doorbell = new Doorbell(sab, 8, { notify: (word) => calls.push(word) });
    return { doorbell, calls, word: new Int32Array(sab, 8, 1) };
  }

  /**
   * A spinning bell on a fake clock: every read of it advances 1 µs; `wait` advances `sleepMs`.
   * `never` is a condition that never holds and counts its checks in `probe.checks`.
   */
  function spinningBell(spinMicros: number) {
    const sab = new SharedArrayBuffer(64);
    const clock = { ms: 0, reads: 0, sleepMs: 0, waits: 0 };
    const probe = { checks: 0 };
    const never = (): boolean => {
      probe.checks += 1;
      return false;
    };
    const doorbell = new Doorbell(sab, 8, {
      spinMicros,
      now: () => {
        clock.reads += 1;
        clock.ms += 0.001;
        return clock.ms;
      },
      wait: (_word, _expected, timeoutMs) => {
        clock.waits += 1;
        clock.ms += Math.min(clock.sleepMs, timeoutMs);
        return clock.sleepMs >= timeoutMs ? 'timed-out' : 'ok';
      },
    });
    return { doorbell, clock, word: new Int32Array(sab, 8, 1), never, probe };
  }

  it('does not notify a peer that is not parked', () => {
    const { doorbell, calls } = bell();
    for (let i = 0; i < 100; i++) expect(doorbell.ring()).toBe(false);
    expect(calls).toHaveLength(0);
  });

  it('notifies a parked peer exactly once and lowers its flag', () => {
    const { doorbell, calls, word } = bell();
    expect(doorbell.prepareToPark(() => false)).toBe(true);
    expect(doorbell.isParked).toBe(true);
    expect(doorbell.ring()).toBe(true);
    expect(doorbell.ring()).toBe(false);
    expect(calls).toEqual([word]);
    expect(doorbell.isParked).toBe(false);
  });

  it('does not park when the re-check after raising the flag finds work', () => {
    const { doorbell } = bell();
    let checks = 0;
    // Work shows up between "about to park" and the flag: the re-check must catch it.
    expect(doorbell.prepareToPark(() => ++checks > 0)).toBe(false);
    expect(doorbell.isParked).toBe(false);
  });

  it('spins for at most its window by the clock, then sleeps with the flag raised', () => {
    const { doorbell, clock, never, probe } = spinningBell(20);
    clock.sleepMs = 5;
    expect(doorbell.park(never, 5)).toBe('timed-out');
    // The start, then a read every 16 polls: 20 until the 20 µs deadline. The checks: those
    // polls, the re-check after raising the flag and the check after the timeout.
    expect(clock.reads).toBe(1 + 20);
    expect(probe.checks).toBe(20 * 16 + 2);
    expect(clock.waits).toBe(1);
    expect(doorbell.isParked).toBe(false);
  });

  it('ends the spin as soon as the condition holds, without raising the flag or sleeping', () => {
    const { doorbell, clock, word } = spinningBell(20);
    let countdown = 40;
    const raised: number[] = [];
    expect(
      doorbell.park(() => {
        raised.push(Atomics.load(word, 0));
        return --countdown === 0;
      }, 5),
    ).toBe('ready');
    expect(countdown).toBe(0);
    expect(raised.every((state) => state === 0)).toBe(true);
    expect(clock.waits).toBe(0);
  });

  it('spins again only after a park that ended within the window', () => {
    const { doorbell, clock, never, probe } = spinningBell(20);
    // A long sleep (a ring after 1 ms): the next park does not spin.
    clock.sleepMs = 1;
    expect(doorbell.park(never, 5)).toBe('woken');
    probe.checks = 0;
    expect(doorbell.park(never, 5)).toBe('woken');
    expect(probe.checks).toBe(1); // only the re-check after raising the flag
    // That park was rung within the window (no spin, a 10 µs sleep): the next one spins.
    probe.checks = 0;
    clock.sleepMs = 0.01;
    expect(doorbell.park(never, 5)).toBe('woken');
    expect(probe.checks).toBe(1);
    probe.checks = 0;
    expect(doorbell.park(never, 5)).toBe('woken');
    expect(probe.checks).toBeGreaterThan(16);
    // That one spun in vain (20 µs) and slept: the next does not spin. A quick ring re-arms.
    clock.sleepMs = 0.01;
    expect(doorbell.park(never, 5)).toBe('woken');
    // A timed-out park never leads to a spin, however short it was (5 µs here, inside the
    // 20 µs window): only a peer that published within the window earns one.
    clock.sleepMs = 1;
    expect(doorbell.park(never, 0.005)).toBe('timed-out');
    probe.checks = 0;
    clock.sleepMs = 0;
    expect(doorbell.park(never, 5)).toBe('woken');
    expect(probe.checks).toBe(1);
  });

  it('backs off after a spin that missed: 2, then 4, 8 parks without a spin, even rung within the window; a catch ends it', () => {
    const { doorbell, clock, never, probe } = spinningBell(20);
    // Every park is rung 10 µs in, well inside the 20 µs window: without the back-off, every
    // other park would spin its whole window in vain (what a core shared with the peer does).
    clock.sleepMs = 0.01;
    /** Parks that do not spin before one that does (and misses). */
    const quietParks = (): number => {
      for (let parks = 0; parks < 1000; parks++) {
        probe.checks = 0;
        expect(doorbell.park(never, 5)).toBe('woken');
        if (probe.checks > 1) return parks;
      }
      throw new Error('no park spun');
    };
    expect(quietParks()).toBe(0);
    expect([quietParks(), quietParks(), quietParks()]).toEqual([2, 4, 8]);
    // Sit out the back-off (16 parks), then a spin that catches the peer ends it: the very next
    // park spins again, and its miss starts over at 2.
    for (let park = 0; park < 16; park++) doorbell.park(never, 5);
    let polls = 0;
    expect(doorbell.park(() => ++polls > 20, 5)).toBe('ready');
    expect(polls).toBe(21);
    expect(quietParks()).toBe(0);
    expect(quietParks()).toBe(2);
  });

  it('never spins longer than the timeout of the park', () => {
    const { doorbell, clock } = spinningBell(MAX_SPIN_MICROS);
    clock.sleepMs = 1;
    expect(doorbell.park(() => false, 0.005)).toBe('timed-out');
    // The start, then 5 µs: five reads of the clock while spinning.
    expect(clock.reads).toBe(1 + 5);
  });

  it('parkAsync times out, and can be cut short by ringing the same bell', async () => {
    const { sab } = { sab: new SharedArrayBuffer(64) };
    const doorbell = new Doorbell(sab, 0);
    expect(await doorbell.parkAsync(() => false, 0)).toBe('timed-out');
    expect(doorbell.isParked).toBe(false);
    const parked = doorbell.parkAsync(() => false, 10_000);
    expect(doorbell.isParked).toBe(true);
    expect(doorbell.ring()).toBe(true);
    expect(await parked).toBe('woken');
  });

  it('tells the ringer whether the peer sleeps in a blocking wait, and wakes it through the wait it was given', () => {
    const sab = new SharedArrayBuffer(64);
    const word = new Int32Array(sab, 8, 1);
    const rings: boolean[] = [];
    const waits: [number, number][] = [];
    const ringer = new Doorbell(sab, 8, { notify: (_word, blocking) => rings.push(blocking) });
    // The sleeper's own wait: as a futex would, it sees the flag it raised, and a ring
    // arrives meanwhile (from "another process": the ringer above).
    const sleeper = new Doorbell(sab, 8, {
      wait: (w, expected, timeoutMs) => {
        waits.push([Atomics.load(w, 0), timeoutMs]);
        expect(expected).toBe(Atomics.load(w, 0));
        expect(ringer.ring()).toBe(true);
        return 'ok';
      },
    });
    expect(sleeper.park(() => false, 3)).toBe('woken');
    expect(waits).toEqual([[2, 3]]);
    expect(rings).toEqual([true]);
    expect(Atomics.load(word, 0)).toBe(0);
    // Parked on an event loop: the ringer is told so.
    expect(sleeper.prepareToPark(() => false)).toBe(true);
    expect(ringer.ring()).toBe(true);
    expect(rings).toEqual([true, false]);
  });

  it('ringIfBlocking wakes only a peer in a blocking wait', () => {
    const { doorbell, calls, word } = bell();
    expect(doorbell.prepareToPark(() => false)).toBe(true);
    expect(doorbell.ringIfBlocking()).toBe(false);
    expect(doorbell.isParked).toBe(true);
    Atomics.store(word, 0, 2);
    expect(doorbell.ringIfBlocking()).toBe(true);
    expect(doorbell.isParked).toBe(false);
    expect(doorbell.ringIfBlocking()).toBe(false);
    expect(calls).toEqual([word]);
  });

  it('parkUntilWoken sleeps until wakeParked, which leaves the flag to the sleeper', async () => {
    const { doorbell, calls } = bell();
    expect(doorbell.wakeParked()).toBe(false);
    expect(await doorbell.parkUntilWoken(() => true)).toBe('ready');
    const parked = doorbell.parkUntilWoken(() => false);
    expect(doorbell.isParked).toBe(true);
    expect(doorbell.wakeParked()).toBe(true);
    // Still raised until the sleeper runs: a peer ringing meanwhile still reaches it.
    expect(doorbell.isParked).toBe(true);
    expect(await parked).toBe('woken');
    expect(doorbell.isParked).toBe(false);
    expect(doorbell.wakeParked()).toBe(false);
    expect(calls).toHaveLength(0);
  });

  it('lowers its flag when the blocking wait throws', () => {
    const sab = new SharedArrayBuffer(64);
    const doorbell = new Doorbell(sab, 0, {
      wait: () => {
        throw new RangeError('wait refused');
      },
    });
    expect(() => doorbell.park(() => false, 1)).toThrow('wait refused');
    expect(doorbell.isParked).toBe(false);
  });

  it('does not notify for a park word holding anything but a parked state (a hostile peer)', () => {
    const { doorbell, calls, word } = bell();
    for (const value of [3, -1, 0x7fffffff]) {
      Atomics.store(word, 0, value);
      expect(doorbell.ring()).toBe(false);
      expect(doorbell.isParked).toBe(false);
    }
    expect(calls).toHaveLength(0);
  });

  it('validates its options', () => {
    const sab = new SharedArrayBuffer(64);
    expect(() => new Doorbell(sab, 2)).toThrow(RangeError);
    expect(() => new Doorbell(sab, 64)).toThrow(RangeError);
    expect(() => new Doorbell(sab, 0, { spinMicros: -1 })).toThrow(RangeError);
    expect(() => new Doorbell(sab, 0, { spinMicros: MAX_SPIN_MICROS + 1 })).toThrow(RangeError);
    expect(() => new Doorbell(sab, 0, { spinMicros: Number.NaN })).toThrow(RangeError);
    expect(() => new Doorbell(sab, 0).park(() => true, -1)).toThrow(RangeError);
  });
});

describe('Doorbell across threads', () => {
  it.each([1, 100])('wakes a guest parked in Atomics.wait once, and it drains all %i items in that one wake-up', async (items) => {
    const segment = newSegment();
    const host = hostSide(segment);
    const guest = startGuest(segment, { gateOpen: false });
    // The gate keeps the guest's condition false: once its flag is up it can only be in (or
    // entering) Atomics.wait, and only our ring can get it out.
    await waitUntil(() => host.guestBell.isParked, 'the guest parks');
    for (let i = 0; i < items; i++) expect(host.submit.tryPush(desc(i))).toBe(true);
    Atomics.store(guest.ctl, GATE, 1);
    expect(host.guestBell.ring()).toBe(true);
    expect(host.counts.guestNotifies).toBe(1);

    const echoed: number[] = [];
    while (echoed.length < items) {
      expect(await host.hostBell.parkAsync(() => host.complete.hasPending(), 10_000)).not.toBe('timed-out');
      host.complete.drain(Number.POSITIVE_INFINITY, (d) => echoed.push(d.seq));
    }
    expect(echoed).toEqual(Array.from({ length: items }, (_, i) => i));
    host.submit.tryPush(desc(items, STOP_KIND));
    host.guestBell.ring();
    const report = await guest.report;
    expect(report.error).toBeUndefined();
    expect(report.parks[0]).toEqual(['woken', items]);
  });

  it('wakes the host parked in Atomics.waitAsync from the guest', async () => {
    const segment = newSegment();
    const host = hostSide(segment);
    const guest = startGuest(segment, { gateOpen: true });
    // The host's flag is raised synchronously, before anything is submitted: the guest's
    // completion can only reach it through the guest's ring.
    const parked = host.hostBell.parkAsync(() => host.complete.hasPending(), 10_000);
    expect(host.hostBell.isParked).toBe(true);
    host.submit.tryPush(desc(7));
    host.guestBell.ring();
    expect(await parked).toBe('woken');
    const got: number[] = [];
    host.complete.drain(Number.POSITIVE_INFINITY, (d) => got.push(d.seq));
    expect(got).toEqual([7]);
    host.submit.tryPush(desc(8, STOP_KIND));
    host.guestBell.ring();
    const report = await guest.report;
    expect(report.error).toBeUndefined();
    expect(report.hostNotifies).toBe(1);
  });

  it('sends no notification while the guest is busy (not parked), and the guest drains the backlog at once', async () => {
    const segment = newSegment();
    const host = hostSide(segment);
    const guest = startGuest(segment, { gateOpen: true, waitForGo: true });
    for (let i = 0; i < 50; i++) {
      expect(host.submit.tryPush(desc(i))).toBe(true);
      expect(host.guestBell.ring()).toBe(false);
    }
    expect(host.counts.guestNotifies).toBe(0);
    Atomics.store(guest.ctl, GO, 1);
    Atomics.notify(guest.ctl, GO);
    let echoed = 0;
    while (echoed < 50) {
      expect(await host.hostBell.parkAsync(() => host.complete.hasPending(), 10_000)).not.toBe('timed-out');
      echoed += host.complete.drain(Number.POSITIVE_INFINITY, () => undefined);
    }
    host.submit.tryPush(desc(50, STOP_KIND));
    host.guestBell.ring();
    const report = await guest.report;
    expect(report.error).toBeUndefined();
    expect(report.parks[0]).toEqual(['ready', 50]);
  });

  it('ping-pongs 10k items between the host and a guest without a lost wake-up', async () => {
    const segment = newSegment();
    const host = hostSide(segment);
    const guest = startGuest(segment, { gateOpen: true });
    const rounds = 10_000;
    let hostWakeUps = 0;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      if (!host.submit.tryPush(desc(i))) throw new Error(`submit ring full at ${i}`);
      host.guestBell.ring();
      let received = -1;
      while (received < 0) {
        const outcome = await host.hostBell.parkAsync(() => host.complete.hasPending(), 5_000);
        if (outcome === 'timed-out') throw new Error(`lost wake-up: no echo of item ${i} within 5 s`);
        if (outcome === 'woken') hostWakeUps += 1;
        host.complete.drain(1, (d) => {
          received = d.seq;
        });
      }
      if (received !== i) throw new Error(`echo out of order: got ${received}, expected ${i}`);
    }
    const elapsed = performance.now() - started;
    host.submit.tryPush(desc(rounds, STOP_KIND));
    host.guestBell.ring();
    const report = await guest.report;
    expect(report.error).toBeUndefined();
    expect(report.parks.reduce((sum, [, echoed]) => sum + echoed, 0)).toBe(rounds);
    expect(host.complete.violation).toBeUndefined();
    // Not an assertion on speed (noisy machine): a record of the round-trip cost.
    console.info(
      `doorbell ping-pong: ${rounds} round trips in ${elapsed.toFixed(0)} ms (${((elapsed * 1000) / rounds).toFixed(1)} µs each), ` +
        `host woken ${hostWakeUps}×, guest notified ${host.counts.guestNotifies}×`,
    );
  });
});
