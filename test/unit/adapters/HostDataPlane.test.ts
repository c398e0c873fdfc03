// The host's side of the complete ring against a guest that never stops producing: outcomes
// beyond the frames handed over are a protocol violation (a flood ends at once), and honest
// outcomes that keep coming while they are read (the application feeds the next frame from
// each outcome, the guest answers as fast) get a turn of the event loop every two rings'
// worth. Real rings over a real SharedArrayBuffer; the guest is a fake on the same thread,
// which answers from inside the host's own drain — the fastest peer there can be.
import { describe, expect, it } from 'vitest';
import type { Delivery, DeliveryResult, GenerationSink } from '../../../src/adapters/Adapter.js';
import { HostDataPlane } from '../../../src/adapters/HostDataPlane.js';
import { COMPLETE_DONE, COMPLETE_KINDS, CONTROL_BYTES, SUBMIT_KINDS } from '../../../src/adapters/protocol.js';
import { DescriptorRing } from '../../../src/transport/DescriptorRing.js';
import { SharedFramePool } from '../../../src/transport/SharedFramePool.js';
import { computeSegmentLayout } from '../../../src/transport/segmentLayout.js';

const CAPACITY = 16;
/** Where the fake guest stops: far past any bound, short of a test that never ends. */
const GIVE_UP_AFTER = 5_000;

function setup(onStale: () => void = () => undefined): {
  plane: HostDataPlane;
  pool: SharedFramePool;
  submit: DescriptorRing;
  complete: DescriptorRing;
  violations: string[];
  /** Resolves at the first violation reported. */
  violated: Promise<void>;
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
  const sink: GenerationSink = { output: noop, log: noop, heartbeat: noop, lost: noop, lingering: noop, stale: onStale };
  const plane = new HostDataPlane({
    generation: 1,
    pool,
    rings: { buffer, layout },
    control: new Int32Array(buffer, layout.totalBytes, CONTROL_BYTES / 4),
    post: () => {
      throw new Error('every frame of this test goes on the ring');
    },
    sink,
    inputBudgetMs: undefined,
    maxArrayBufferMb: undefined,
    onOverLimit: noop,
    onViolation: (detail) => {
      violations.push(detail);
      reported();
    },
  });
  // The guest's ends, attached after the host initialized both rings.
  const submit = new DescriptorRing(buffer, layout.submit, { role: 'consumer', slots: 4, slotBytes: 64, kindLimit: SUBMIT_KINDS, expectedGeneration: 1 });
  const complete = new DescriptorRing(buffer, layout.complete, { role: 'producer', slots: 1, slotBytes: 1, kindLimit: COMPLETE_KINDS, isSlotless: () => true });
  return { plane, pool, submit, complete, violations, violated };
}

function done(complete: DescriptorRing, seq: number): boolean {
  return complete.tryPush({ slot: 0, length: 0, seq, generation: 1, kind: COMPLETE_DONE, width: 0, height: 0, formatCode: 0, timestamp: 0, aux: 0 });
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
    expect(violations[0]).toMatch(/^ring: an outcome for input 1000, beyond the 0 frames handed over on the ring$/);
    expect(stale).toBe(0);
    // Closed: what the guest pushes next is never read (it stays on the ring).
    done(complete, seq++);
    plane.wake();
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
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
});
