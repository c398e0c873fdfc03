// The host's side of the complete ring against a guest that never stops producing: outcomes
// beyond the inputs handed over are a protocol violation (a flood ends at once), and honest
// outcomes that keep coming while they are read (the application feeds the next frame from
// each outcome, the guest answers as fast) get a turn of the event loop every two rings'
// worth. Real rings over a real SharedArrayBuffer; the guest is a fake on the same thread,
// which answers from inside the host's own drain — the fastest peer there can be.
import { describe, expect, it } from 'vitest';
import type { Delivery, DeliveryResult, GenerationSink } from '../../../src/adapters/Adapter.js';
import { EVENT_LOOP_TURN_MS } from '../../../src/adapters/Adapter.js';
import type { HostToGuest, RingValue } from '../../../src/adapters/protocol.js';
import { HostDataPlane } from '../../../src/adapters/HostDataPlane.js';
import type { HostDataPlaneOptions } from '../../../src/adapters/HostDataPlane.js';
import {
  COMPLETE_DONE,
  COMPLETE_KINDS,
  COMPLETE_VALUE,
  CONTROL_BYTES,
  SUBMIT_KINDS,
  SUBMIT_MESSAGE,
  completeInPayload,
  decodeRingValue,
  encodeRingValue,
  submitInPayload,
} from '../../../src/adapters/protocol.js';
import { DescriptorRing } from '../../../src/transport/DescriptorRing.js';
import { SharedFramePool } from '../../../src/transport/SharedFramePool.js';
import { computeSegmentLayout } from '../../../src/transport/segmentLayout.js';

const CAPACITY = 16;
/** Where the fake guest stops: far past any bound, short of a test that never ends. */
const GIVE_UP_AFTER = 5_000;

function setup(
  onStale: () => void = () => undefined,
  post: (message: HostToGuest) => void = () => {
    throw new Error('every frame of this test goes on the ring');
  },
  pollMicros = 0,
  extra: Pick<HostDataPlaneOptions, 'cores' | 'yieldCore' | 'now' | 'pendingWakeMs' | 'notifyGuest'> = {},
): {
  plane: HostDataPlane;
  pool: SharedFramePool;
  submit: DescriptorRing;
  complete: DescriptorRing;
  violations: string[];
  /** Resolves at the first violation reported. */
  violated: Promise<void>;
  /** The host's park word on the complete ring (0: awake). */
  hostParkWord: Int32Array;
  /** The guest's park word on the submit ring (2: asleep in a blocking wait). */
  guestParkWord: Int32Array;
} {
  const layout = computeSegmentLayout({ slots: 4, slotBytes: 64, ringCapacity: CAPACITY });
  const buffer = new SharedArrayBuffer(layout.totalBytes + CONTROL_BYTES);
  const pool = new SharedFramePool({ slots: 4, slotBytes: 64, poisonReleased: false });
  const violations: string[] = [];
  let reported: () => void = () => undefined;
  const violated = new Promise<void>((resolve) => {
    reported = resolve;
  });
  const noop = (): void => undefined;
  const sink: GenerationSink = { output: noop, log: noop, heartbeat: noop, lost: noop, lingering: noop, ended: noop, stale: onStale };
  const plane = new HostDataPlane({
    generation: 1,
    pool,
    rings: { buffer, layout },
    control: new Int32Array(buffer, layout.totalBytes, CONTROL_BYTES / 4),
    post,
    pollMicros,
    ...extra,
    sink,
    inputBudgetMs: undefined,
    maxArrayBufferMb: undefined,
    maxHeapMb: undefined,
    onOverLimit: noop,
    onViolation: (detail) => {
      violations.push(detail);
      reported();
    },
  });
  // The guest's ends, attached after the host initialized both rings.
  const submit = new DescriptorRing(buffer, layout.submit, { role: 'consumer', slots: 4, slotBytes: 64, kindLimit: SUBMIT_KINDS, expectedGeneration: 1, inPayload: submitInPayload });
  const complete = new DescriptorRing(buffer, layout.complete, {
    role: 'producer',
    slots: 1,
    slotBytes: 1,
    kindLimit: COMPLETE_KINDS,
    isSlotless: () => true,
    inPayload: completeInPayload,
  });
  return {
    plane,
    pool,
    submit,
    complete,
    violations,
    violated,
    hostParkWord: new Int32Array(buffer, layout.complete.consumerParkOffset, 1),
    guestParkWord: new Int32Array(buffer, layout.submit.consumerParkOffset, 1),
  };
}

/** One turn of the event loop. */
function turn(): Promise<void> {
  return new Promise<void>((resolve) => {
    setImmediate(resolve);
  });
}

/** Turns of the event loop until `condition` holds, at most `limit`; how many it took. */
async function turnsUntil(condition: () => boolean, limit: number): Promise<number> {
  let turns = 0;
  while (!condition() && turns < limit) {
    await turn();
    turns += 1;
  }
  return turns;
}

function done(complete: DescriptorRing, seq: number): boolean {
  return complete.tryPush({ slot: 0, length: 0, seq, generation: 1, kind: COMPLETE_DONE, width: 0, height: 0, formatCode: 0, timestamp: 0, aux: 0, extra: 0 });
}

describe('HostDataPlane', () => {
  it('ends the generation at the first outcome beyond the frames it handed over', async () => {
    let stale = 0;
    const { plane, pool, complete, violations, violated } = setup(() => {
      stale += 1;
    });
    let seq = 1_000;
    // A flood: the ring refilled whenever there is room.
    for (let i = 0; i < CAPACITY; i++) done(complete, seq++);
    plane.wake();
    await violated;
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/^ring: an outcome for input 1000, beyond the 0 inputs handed over on the ring$/);
    expect(stale).toBe(0);
    // Closed: what the guest pushes next is never read (it stays on the ring).
    done(complete, seq++);
    plane.wake();
    await turn();
    expect(complete.size()).toBe(1);
    expect(violations).toHaveLength(1);
    plane.close();
    pool.close(new Error('done'));
  });

  it('gives its event loop a turn while honest outcomes keep coming as fast as it reads them', async () => {
    const { plane, pool, submit, complete, violations } = setup();
    let settled = 0;
    let settledWhenTurned: number | undefined;
    let turnedNow: () => void = () => undefined;
    const turned = new Promise<void>((resolve) => {
      turnedNow = resolve;
    });
    let next = 1;
    const deliver = (): void => {
      const seq = next++;
      const data = pool.take(8);
      const input: Delivery = { kind: 'frame', seq, meta: { width: 8, height: 1, format: 'gray', timestamp: seq }, data };
      plane.deliver(input, (settledSeq: number, result: DeliveryResult) => {
        expect(settledSeq).toBe(seq);
        expect(result.ok).toBe(true);
        pool.release(data);
        settled += 1;
        if (settled === 1) {
          // From inside the drain: the first turn the event loop gets from now on.
          setImmediate(() => {
            settledWhenTurned = settled;
            turnedNow();
          });
        }
        // The application feeds the next frame from this outcome; the guest answers at once.
        if (next <= GIVE_UP_AFTER) deliver();
      });
      submit.drain(Number.POSITIVE_INFINITY, (d) => {
        expect(done(complete, d.seq)).toBe(true);
      });
    };
    deliver();
    plane.wake();
    await turned;
    plane.close();
    pool.close(new Error('done'));
    expect(violations).toEqual([]);
    // The event loop turned after two rings' worth or so, not once the guest gave up.
    expect(settledWhenTurned).toBeDefined();
    expect(settledWhenTurned).toBeLessThanOrEqual(2 * CAPACITY + 1);
  });

  it('on more than one core, gives its event loop a turn every EVENT_LOOP_TURN_MS while an application that works on each outcome is fed by a guest as fast', async () => {
    // The guest answers each input a microtask after it was handed over, so every drain reads
    // one outcome and the next is on the ring by the time the loop would park: without a turn
    // owed by the clock, the loop stays one chain of microtasks (measured with real workers:
    // a 1 ms interval timer held off ~450 ms at 5 µs of work per outcome).
    const clock = { ms: 0 };
    const h = setup(undefined, undefined, 0, { cores: 2, pendingWakeMs: 3_600_000, now: () => clock.ms });
    let settled = 0;
    let settledWhenTurned: number | undefined;
    let next = 1;
    const deliver = (): void => {
      const seq = next++;
      const data = h.pool.take(8);
      h.plane.deliver({ kind: 'frame', seq, meta: { width: 8, height: 1, format: 'gray', timestamp: seq }, data }, (settledSeq, result) => {
        expect(settledSeq).toBe(seq);
        expect(result.ok).toBe(true);
        h.pool.release(data);
        settled += 1;
        // The application's work on this outcome: 1 ms of the loop's clock.
        clock.ms += 1;
        if (settled === 1) {
          setImmediate(() => {
            settledWhenTurned = settled;
          });
        }
        if (next <= GIVE_UP_AFTER && settledWhenTurned === undefined) deliver();
      });
      queueMicrotask(() => {
        h.submit.drain(Number.POSITIVE_INFINITY, (d) => {
          expect(done(h.complete, d.seq)).toBe(true);
        });
      });
    };
    deliver();
    h.plane.wake();
    await turnsUntil(() => settledWhenTurned !== undefined, 1_000);
    h.plane.close();
    h.pool.close(new Error('done'));
    expect(h.violations).toEqual([]);
    // The first turn owed comes once EVENT_LOOP_TURN_MS of outcomes went by, not when the
    // guest gives up.
    expect(settledWhenTurned).toBeDefined();
    expect(settledWhenTurned).toBeLessThanOrEqual(EVENT_LOOP_TURN_MS + 2);
  });

  describe('messages on the ring', () => {
    /** The fake guest pushes `value` back as the result of `seq`, after `posted` port messages. */
    function reply(complete: DescriptorRing, seq: number, value: unknown, posted = 0, tag?: number): void {
      const area = complete.reservePayload();
      if (area === undefined) throw new Error('complete ring full');
      const encoded: RingValue = { tag: 0, number: 0, length: 0 };
      expect(encodeRingValue(value, area, encoded)).toBe(true);
      const pushed = complete.tryPush({
        slot: 0,
        length: encoded.length,
        seq,
        generation: 1,
        kind: COMPLETE_VALUE,
        width: 0,
        height: 0,
        formatCode: tag ?? encoded.tag,
        timestamp: encoded.number,
        aux: posted,
        extra: 0,
      });
      expect(pushed).toBe(true);
    }

    /** What the fake guest reads on the submit ring: [seq, message] of each message. */
    function received(submit: DescriptorRing): [number, unknown][] {
      const out: [number, unknown][] = [];
      submit.drain(Number.POSITIVE_INFINITY, (d, payload) => {
        expect(d.kind).toBe(SUBMIT_MESSAGE);
        out.push([d.seq, decodeRingValue(d.formatCode, d.timestamp, payload, d.length)]);
      });
      return out;
    }

    function settleOf(plane: HostDataPlane, message: unknown, seq: number): Promise<DeliveryResult> {
      return new Promise<DeliveryResult>((resolve) => {
        plane.deliver({ kind: 'message', seq, message }, (_seq, result) => {
          resolve(result);
        });
      });
    }

    it('hands a primitive message over on the ring and settles it with the value pushed back', async () => {
      const { plane, pool, submit, complete, violations } = setup();
      const values = ['héllo', '', 0, -0, Number.NaN, 1.5e300, true, false, null, undefined, 'x'.repeat(256)];
      const results = values.map((value, i) => settleOf(plane, value, i + 1));
      // Published by the end of this turn of the microtask queue (see the next test).
      await Promise.resolve();
      const got = received(submit);
      expect(got.map(([seq]) => seq)).toEqual(values.map((_v, i) => i + 1));
      for (const [i, [, message]] of got.entries()) expect(Object.is(message, values[i])).toBe(true);
      for (const [seq, message] of got) reply(complete, seq, typeof message === 'string' ? message.toUpperCase() : message);
      plane.wake();
      const settled = await Promise.all(results);
      for (const [i, result] of settled.entries()) {
        const value = values[i];
        expect(result.ok).toBe(true);
        if (result.ok) expect(Object.is(result.value, typeof value === 'string' ? value.toUpperCase() : value)).toBe(true);
      }
      expect(violations).toEqual([]);
      plane.close();
      pool.close(new Error('done'));
    });

    it.each([
      { cores: 2, published: [1, 2, 3, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 16] },
      { cores: 1, published: Array.from({ length: 16 }, () => 0) },
    ])('publishes the submit ring once per burst, and with a core to spare also every 8 inputs and while few are in flight ($cores cores)', async ({ cores, published }) => {
      const { plane, pool, submit } = setup(undefined, undefined, 0, { cores, yieldCore: () => undefined, pendingWakeMs: 3_600_000 });
      const visible: number[] = [];
      // As many as the ring holds (16).
      for (let seq = 1; seq <= 16; seq++) {
        plane.deliver({ kind: 'message', seq, message: seq }, () => undefined);
        // What the guest could see right after this input was handed over.
        visible.push(submit.size());
      }
      // Under 4 in flight each input goes at once (latency); then every 8th, and all of a
      // burst at its end: each publication is a SeqCst store to a line the guest reads.
      expect(visible).toEqual(published);
      await Promise.resolve();
      expect(received(submit)).toEqual(Array.from({ length: 16 }, (_, i) => [i + 1, i + 1]));
      plane.close();
      pool.close(new Error('done'));
    });

    it('posts a message whose value does not survive a ring entry exactly', async () => {
      const posted: HostToGuest[] = [];
      const { plane, pool, submit } = setup(undefined, (message) => posted.push(message));
      const values = [{ a: 1 }, ['a'], 'é'.repeat(129), 'lone \ud800 surrogate', 10n, new Uint8Array(2)];
      for (const [i, value] of values.entries()) plane.deliver({ kind: 'message', seq: i + 1, message: value }, () => undefined);
      expect(submit.size()).toBe(0);
      expect(posted.map((m) => (m.t === 'message' ? m.message : m.t))).toEqual(values);
      // Exactly 256 bytes of UTF-8 still fit.
      plane.deliver({ kind: 'message', seq: 99, message: 'é'.repeat(128) }, () => undefined);
      await Promise.resolve();
      expect(received(submit)).toEqual([[99, 'é'.repeat(128)]]);
      plane.close();
      pool.close(new Error('done'));
    });

    it('ends the generation at a result whose value tag names no value', async () => {
      let settled = 0;
      const { plane, pool, submit, complete, violations, violated } = setup();
      plane.deliver({ kind: 'message', seq: 7, message: 'm' }, () => {
        settled += 1;
      });
      expect(received(submit)).toEqual([[7, 'm']]);
      reply(complete, 7, 'r', 0, 99);
      plane.wake();
      await violated;
      expect(violations).toEqual(['ring: the result of input 7 has value tag 99, which names no value']);
      expect(settled).toBe(0);
      plane.close();
      pool.close(new Error('done'));
    });

    it('holds a result behind the port messages posted before it, with its value', async () => {
      const { plane, pool, submit, complete } = setup();
      const result = settleOf(plane, 1, 3);
      received(submit);
      // The guest had posted one port message (a log) before this result.
      reply(complete, 3, 'three', 1);
      plane.wake();
      plane.receive({ t: 'log', level: 'info', message: 'before the result' });
      expect(await result).toEqual({ ok: true, value: 'three' });
      plane.close();
      pool.close(new Error('done'));
    });

    it('settles results in the order the guest produced them when one of them comes by message', () => {
      const { plane, pool, submit, complete } = setup();
      const order: [number, unknown][] = [];
      for (const seq of [1, 2, 3]) {
        plane.deliver({ kind: 'message', seq, message: seq }, (settledSeq, result) => {
          order.push([settledSeq, result.ok ? result.value : result.error]);
        });
      }
      received(submit);
      // 1 on the ring; 2's result does not fit a ring entry, so it is posted (the guest's
      // first port message); 3 on the ring after that post. None drained by the host yet.
      reply(complete, 1, 'one', 0);
      reply(complete, 3, 'three', 1);
      plane.receive({ t: 'outcome', seq: 2, ok: true, value: { two: 2 } });
      expect(order).toEqual([
        [1, 'one'],
        [2, { two: 2 }],
        [3, 'three'],
      ]);
      plane.close();
      pool.close(new Error('done'));
    });

    it('a fence reports a result still held behind a port message with its value', () => {
      const { plane, pool, submit, complete } = setup();
      plane.deliver({ kind: 'message', seq: 3, message: 1 }, () => {
        throw new Error('a fenced result is reported by the fence, not settled');
      });
      received(submit);
      reply(complete, 3, 'three', 1);
      // The fence reads the ring itself; the port message the result waits for never came.
      const fenced = plane.fence();
      expect(fenced.unstarted).toEqual([]);
      expect([...fenced.completed]).toEqual([[3, { ok: true, value: 'three' }]]);
      plane.close();
      pool.close(new Error('done'));
    });
  });

  it.each([0, 3])('polls for the next outcome through turns of its event loop while the guest answers quickly, never parking (next input %i promise hops after the outcome)', async (hops) => {
    // A clock that never moves: however long this machine stalls, the poll window (1 s) never
    // runs out, so the loop takes the same path every run.
    const { plane, pool, submit, complete, hostParkWord } = setup(undefined, undefined, 1_000_000, { now: () => 0 });
    const settled: number[] = [];
    let second: () => void = () => undefined;
    const secondSettled = new Promise<void>((resolve) => {
      second = resolve;
    });
    let first: () => void = () => undefined;
    const firstSettled = new Promise<void>((resolve) => {
      first = resolve;
    });
    const deliver = (seq: number): void => {
      const data = pool.take(8);
      plane.deliver({ kind: 'frame', seq, meta: { width: 8, height: 1, format: 'gray', timestamp: seq }, data }, (settledSeq) => {
        pool.release(data);
        settled.push(settledSeq);
        // The application feeds the next frame from the outcome, as a round-trip client does
        // (after an `await acquire()`, say: a few promise hops later).
        if (settledSeq === 1) {
          void (async () => {
            for (let hop = 0; hop < hops; hop++) await Promise.resolve();
            deliver(2);
            first();
          })();
        } else second();
      });
    };
    deliver(1);
    // The loop parked before anything was in flight: this outcome needs the doorbell.
    submit.drain(Number.POSITIVE_INFINITY, (d) => { expect(done(complete, d.seq)).toBe(true); });
    plane.wake();
    await firstSettled;
    // Frame 2 is in flight: the host polls. It never raises its park flag, so the guest
    // would not ring it, and the outcome pushed without a doorbell is read all the same.
    for (let i = 0; i < 5; i++) {
      await turn();
      expect(Atomics.load(hostParkWord, 0)).toBe(0);
    }
    submit.drain(Number.POSITIVE_INFINITY, (d) => { expect(done(complete, d.seq)).toBe(true); });
    // Read on one of the host's next turns. A parked host would wait for its watchdog
    // (PENDING_WAKE_MS, 50 ms: thousands of turns of this loop). Counted in turns, not in time,
    // so a stalled machine cannot fail it.
    let isSettled = false;
    void secondSettled.then(() => {
      isSettled = true;
    });
    const turns = await turnsUntil(() => isSettled, 100_000);
    expect(isSettled).toBe(true);
    expect(turns).toBeLessThanOrEqual(5);
    expect(settled).toEqual([1, 2]);
    plane.close();
    pool.close(new Error('done'));
  });

  it('never polls after a wake-up that brought nothing (a guest ringing at will)', async () => {
    const { plane, pool, hostParkWord } = setup(undefined, undefined, 1_000_000, { now: () => 0 });
    /** Turns until the host's park flag is up (it parked). */
    const untilParked = (limit: number): Promise<number> => turnsUntil(() => Atomics.load(hostParkWord, 0) !== 0, limit);
    // Nothing in flight yet: the host parks after one look.
    await untilParked(5);
    expect(Atomics.load(hostParkWord, 0)).toBe(1);
    const data = pool.take(8);
    plane.deliver({ kind: 'frame', seq: 1, meta: { width: 8, height: 1, format: 'gray', timestamp: 1 }, data }, () => undefined);
    for (let ring = 0; ring < 3; ring++) {
      // A doorbell with nothing on the ring; the host looks, finds nothing, and parks again
      // (its park flag up) instead of polling for its whole window (1 s here).
      plane.wake();
      await turn();
      const turns = await untilParked(100_000);
      expect(Atomics.load(hostParkWord, 0)).toBe(1);
      expect(turns).toBeLessThanOrEqual(5);
    }
    plane.close();
    pool.release(data);
    pool.close(new Error('done'));
  });

  it.each([0, 3])('on one core, hands the core to the guest it rang, which answers before the host parks (next input %i promise hops after the outcome)', async (hops) => {
    const TRIPS = 20;
    let yields = 0;
    const hostParkedAtYield: number[] = [];
    let doorbells = 0;
    // The guest sleeps in a blocking wait between inputs; handed the core, it runs what is on
    // the submit ring, pushes the outcomes, rings the host only if the host parked (as the
    // real guest does), and sleeps again.
    const guest = {
      yieldCore: (): void => {
        yields += 1;
        hostParkedAtYield.push(Atomics.load(h.hostParkWord, 0));
        h.submit.drain(Number.POSITIVE_INFINITY, (d) => {
          expect(done(h.complete, d.seq)).toBe(true);
        });
        if (Atomics.load(h.hostParkWord, 0) !== 0) {
          doorbells += 1;
          Atomics.store(h.hostParkWord, 0, 0);
          Atomics.notify(h.hostParkWord, 0);
        }
        Atomics.store(h.guestParkWord, 0, 2);
      },
    };
    // No watchdog within the test: only the guest's doorbell may wake a parked host here.
    const h = setup(undefined, undefined, 0, { cores: 1, yieldCore: guest.yieldCore, pendingWakeMs: 3_600_000 });
    Atomics.store(h.guestParkWord, 0, 2);
    const settled: number[] = [];
    let allSettled = false;
    const deliver = (seq: number): void => {
      const data = h.pool.take(8);
      h.plane.deliver({ kind: 'frame', seq, meta: { width: 8, height: 1, format: 'gray', timestamp: seq }, data }, (settledSeq) => {
        h.pool.release(data);
        settled.push(settledSeq);
        if (settledSeq === TRIPS) {
          allSettled = true;
          return;
        }
        void (async () => {
          for (let hop = 0; hop < hops; hop++) await Promise.resolve();
          deliver(settledSeq + 1);
        })();
      });
    };
    deliver(1);
    // Counted in turns, not time: a trip takes a turn or two; a watchdog rescue (50 ms)
    // thousands.
    const turns = await turnsUntil(() => allSettled, 1_000_000);
    expect(settled).toEqual(Array.from({ length: TRIPS }, (_, i) => i + 1));
    expect(yields).toBe(TRIPS);
    // The first input found the host parked (nothing was in flight): that outcome needs the
    // doorbell. Every later one is on the ring before the host parks.
    expect(hostParkedAtYield).toEqual([1, ...Array.from({ length: TRIPS - 1 }, () => 0)]);
    expect(doorbells).toBe(1);
    expect(turns).toBeLessThanOrEqual(3 * TRIPS);
    h.plane.close();
    h.pool.close(new Error('done'));
  });

  it('on one core, a trip whose guest had the core costs no turn of the event loop, and the loop still turns every EVENT_LOOP_TURN_MS', async () => {
    // The loop's clock moves only when this test says (a stalled machine must not decide
    // whether a turn is owed).
    const clock = { ms: 0 };
    const guest = {
      yieldCore: (): void => {
        h.submit.drain(Number.POSITIVE_INFINITY, (d) => {
          expect(done(h.complete, d.seq)).toBe(true);
        });
        if (Atomics.load(h.hostParkWord, 0) !== 0) {
          Atomics.store(h.hostParkWord, 0, 0);
          Atomics.notify(h.hostParkWord, 0);
        }
        Atomics.store(h.guestParkWord, 0, 2);
      },
    };
    const h = setup(undefined, undefined, 0, { cores: 1, yieldCore: guest.yieldCore, pendingWakeMs: 3_600_000, now: () => clock.ms });
    Atomics.store(h.guestParkWord, 0, 2);
    const settled: number[] = [];
    let last = 0;
    let advance = 0;
    const deliver = (seq: number): void => {
      const data = h.pool.take(8);
      h.plane.deliver({ kind: 'frame', seq, meta: { width: 8, height: 1, format: 'gray', timestamp: seq }, data }, (settledSeq) => {
        h.pool.release(data);
        settled.push(settledSeq);
        clock.ms += advance;
        if (settledSeq < last) deliver(settledSeq + 1);
      });
    };
    // 20 trips with the clock still: the first finds the host parked (its doorbell takes a
    // task); every later outcome is drained in the chain of microtasks its input set off.
    last = 20;
    deliver(1);
    const still = await turnsUntil(() => settled.length === 20, 1_000);
    expect(settled).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(still).toBeLessThanOrEqual(3);
    // 10 more, each with EVENT_LOOP_TURN_MS gone by: each drain is followed by a real turn.
    advance = EVENT_LOOP_TURN_MS;
    last = 30;
    deliver(21);
    const turning = await turnsUntil(() => settled.length === 30, 1_000);
    expect(settled.slice(20)).toEqual(Array.from({ length: 10 }, (_, i) => i + 21));
    expect(turning).toBeGreaterThanOrEqual(10);
    h.plane.close();
    h.pool.close(new Error('done'));
  });

  it('on one core, does not yield after a wake-up that already ran the one input in flight; with more in flight it does', async () => {
    // The guest runs inside the wake-up (as a woken thread preempting the host does): it
    // takes every input handed over, finishes `finish` of them, and sleeps again.
    let finish = Number.POSITIVE_INFINITY;
    let yields = 0;
    const h = setup(undefined, undefined, 0, {
      cores: 1,
      yieldCore: () => {
        yields += 1;
      },
      notifyGuest: () => {
        let n = 0;
        h.submit.drain(Number.POSITIVE_INFINITY, (d) => {
          if (n++ < finish) expect(done(h.complete, d.seq)).toBe(true);
        });
        if (Atomics.load(h.hostParkWord, 0) !== 0) {
          Atomics.store(h.hostParkWord, 0, 0);
          Atomics.notify(h.hostParkWord, 0);
        }
        Atomics.store(h.guestParkWord, 0, 2);
      },
    });
    Atomics.store(h.guestParkWord, 0, 2);
    const settled: number[] = [];
    const deliver = (seq: number): void => {
      const data = h.pool.take(8);
      h.plane.deliver({ kind: 'frame', seq, meta: { width: 8, height: 1, format: 'gray', timestamp: seq }, data }, (settledSeq) => {
        h.pool.release(data);
        settled.push(settledSeq);
      });
    };
    // One in flight, its outcome on the ring when the wake-up returns: no yield.
    deliver(1);
    await turnsUntil(() => settled.length === 1, 1_000);
    expect(settled).toEqual([1]);
    expect(yields).toBe(0);
    // Two in flight, one finished inside the wake-up: the guest still has the other, yield.
    finish = 1;
    deliver(2);
    deliver(3);
    await turnsUntil(() => settled.length === 2, 1_000);
    expect(settled).toEqual([1, 2]);
    expect(yields).toBe(1);
    h.plane.close();
    h.pool.close(new Error('done'));
  });

  it('never yields with a core to spare, nor to a guest that was not asleep', async () => {
    let yields = 0;
    const h = setup(undefined, undefined, 0, {
      cores: 1,
      yieldCore: () => {
        yields += 1;
      },
    });
    // Awake guest: the ring costs a load and hands nothing over.
    const data = h.pool.take(8);
    let isSettled = false;
    h.plane.deliver({ kind: 'frame', seq: 1, meta: { width: 8, height: 1, format: 'gray', timestamp: 1 }, data }, () => {
      isSettled = true;
    });
    await turn();
    expect(yields).toBe(0);
    h.submit.drain(Number.POSITIVE_INFINITY, (d) => {
      expect(done(h.complete, d.seq)).toBe(true);
    });
    h.plane.wake();
    await turnsUntil(() => isSettled, 100_000);
    expect(isSettled).toBe(true);
    h.plane.close();
    h.pool.release(data);
    h.pool.close(new Error('done'));
    // Two cores: the option is ignored.
    const layout = computeSegmentLayout({ slots: 1, slotBytes: 64, ringCapacity: CAPACITY });
    const buffer = new SharedArrayBuffer(layout.totalBytes + CONTROL_BYTES);
    const pool = new SharedFramePool({ slots: 1, slotBytes: 64, poisonReleased: false });
    const noop = (): void => undefined;
    const plane = new HostDataPlane({
      generation: 1,
      pool,
      rings: { buffer, layout },
      control: new Int32Array(buffer, layout.totalBytes, CONTROL_BYTES / 4),
      post: noop,
      cores: 2,
      yieldCore: () => {
        yields += 1;
      },
      sink: { output: noop, log: noop, heartbeat: noop, lost: noop, lingering: noop, ended: noop, stale: noop },
      inputBudgetMs: undefined,
      maxArrayBufferMb: undefined,
      maxHeapMb: undefined,
      onOverLimit: noop,
      onViolation: noop,
    });
    Atomics.store(new Int32Array(buffer, layout.submit.consumerParkOffset, 1), 0, 2);
    const two = pool.take(8);
    plane.deliver({ kind: 'frame', seq: 1, meta: { width: 8, height: 1, format: 'gray', timestamp: 1 }, data: two }, noop);
    await turn();
    expect(Atomics.load(new Int32Array(buffer, layout.submit.consumerParkOffset, 1), 0)).toBe(0);
    expect(yields).toBe(0);
    plane.close();
    pool.release(two);
    pool.close(new Error('done'));
  });

  it('backs off after a poll that ran out its window: the next two waits park at once, then it polls again', async () => {
    // The poll's clock moves only when this test says: a poll ends by the clock or by an
    // outcome, never by how fast this machine is.
    const clock = { ms: 0 };
    // No watchdog within the test: its wake-ups (every 50 ms, on a stalled machine between two
    // steps) are waits too, and would use up the back-off this test counts.
    const h = setup(undefined, undefined, 50, { now: () => clock.ms, pendingWakeMs: 3_600_000 });
    const parked = (): boolean => Atomics.load(h.hostParkWord, 0) !== 0;
    let next = 1;
    const settled: number[] = [];
    const deliver = (): void => {
      const seq = next++;
      const data = h.pool.take(8);
      h.plane.deliver({ kind: 'frame', seq, meta: { width: 8, height: 1, format: 'gray', timestamp: seq }, data }, (settledSeq) => {
        h.pool.release(data);
        settled.push(settledSeq);
        // The application feeds the next frame from each outcome.
        deliver();
      });
    };
    /** The guest answers every frame it has, ringing the host only if it parked. */
    const answer = (): void => {
      h.submit.drain(Number.POSITIVE_INFINITY, (d) => {
        expect(done(h.complete, d.seq)).toBe(true);
      });
      if (parked()) h.plane.wake();
    };
    await turnsUntil(parked, 100);
    deliver();
    // Frame 1 found the host parked; answered at once (no time passes on the clock), so the
    // wait for it ended within the window: the host polls for frame 2.
    answer();
    await turnsUntil(() => settled.length === 1, 100);
    const pollTurns = await turnsUntil(parked, 20);
    expect(parked()).toBe(false);
    expect(pollTurns).toBe(20);
    // The guest is late: the poll runs out its 50 µs and the host parks.
    clock.ms += 0.05;
    await turnsUntil(parked, 100);
    expect(parked()).toBe(true);
    // Frames 2 and 3 are answered as quickly as frame 1 was, yet the host parks at once for
    // frames 3 and 4 (the clock is frozen: a poll now would never end).
    for (const seq of [2, 3]) {
      answer();
      await turnsUntil(() => settled.length === seq, 100);
      expect(await turnsUntil(parked, 100)).toBeLessThan(100);
      expect(parked()).toBe(true);
    }
    // The back-off is over: the host polls for frame 5, and a quick answer is caught without
    // a doorbell.
    answer();
    await turnsUntil(() => settled.length === 4, 100);
    expect(await turnsUntil(parked, 20)).toBe(20);
    answer();
    await turnsUntil(() => settled.length === 5, 100);
    expect(settled).toEqual([1, 2, 3, 4, 5]);
    h.plane.close();
    h.pool.close(new Error('done'));
  });
});
