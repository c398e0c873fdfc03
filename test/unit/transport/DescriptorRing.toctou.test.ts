/**
 * Time-of-check to time-of-use: a hostile producer rewrites descriptor words while our
 * consumer validates them. If the consumer read a word twice (once to check, once to use) a
 * value could pass the check and be used out of range. A real thread plays the guest: it
 * produces descriptors on the ring and, in the same tight loop, flips the slot and length
 * words of every descriptor (published or not) between valid and invalid values. The host
 * consumer must only ever deliver values inside the validated ranges.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { DescriptorRing, type Descriptor, type RingViolationKind } from '../../../src/transport/DescriptorRing.js';
import { createSegment } from './support/segmentFixture.js';
import { startWorker, waitUntil } from './support/workerHarness.js';

const SLOTS = 4;
const SLOT_BYTES = 256;
const CAPACITY = 8;
const GENERATION = 1;
const ROUNDS = 200_000;
// Control words (separate buffer): STOP asks the guest to end, FLIPS counts its rounds.
const STOP = 0;
const FLIPS = 1;

/** Plain JS: the attacker needs none of our code, only the memory and the documented word offsets. */
const HOSTILE_PRODUCER = `
const { workerData } = require('node:worker_threads');
const { sab, ring, ctlSab, slots, slotBytes, generation } = workerData;
const { capacity } = ring;
const words = new Uint32Array(sab, ring.descriptorsOffset, capacity * 16);
const head = new Uint32Array(sab, ring.headOffset, 1);
const tail = new Uint32Array(sab, ring.tailOffset, 1);
const ctl = new Int32Array(ctlSab);
// Valid and invalid values, with co-prime periods so slot and length flip independently.
const slotValues = [0xffffffff, 1, slots, 0x80000000, slots - 1];
const lengthValues = [slotBytes + 1, 16, 0xffffffff, 0x80000000, slotBytes, 0x7fffffff, 0];
let t = Atomics.load(tail, 0);
let i = 0;
while (Atomics.load(ctl, ${STOP}) === 0) {
  if (((t - Atomics.load(head, 0)) >>> 0) < capacity) {
    const b = (t & (capacity - 1)) * 16;
    words[b] = 1;
    words[b + 1] = 16;
    words[b + 2] = t;
    words[b + 3] = 0;
    words[b + 4] = generation;
    words[b + 5] = 0;
    t = (t + 1) >>> 0;
    Atomics.store(tail, 0, t);
  }
  // One round in four (in runs of 1024) leaves the descriptors alone, so some valid ones
  // reach the host however the two threads happen to be scheduled.
  if ((i & 3072) !== 0) {
    const slot = slotValues[i % slotValues.length];
    const length = lengthValues[i % lengthValues.length];
    for (let d = 0; d < capacity; d++) {
      words[d * 16] = slot;
      words[d * 16 + 1] = length;
    }
  }
  i++;
  if ((i & 255) === 0) Atomics.store(ctl, ${FLIPS}, i);
}
`;

let worker: Worker | undefined;

afterEach(async () => {
  await worker?.terminate();
  worker = undefined;
});

describe('DescriptorRing against a producer racing the consumer (TOCTOU)', () => {
  it(`never uses a value outside the validated ranges over ${ROUNDS} validate-and-use rounds`, async () => {
    const segment = createSegment({ slots: SLOTS, slotBytes: SLOT_BYTES, ringCapacity: CAPACITY }, { generation: GENERATION });
    const { sab, layout } = segment;
    const ctl = new Int32Array(new SharedArrayBuffer(64));
    const consumerOptions = { role: 'consumer', slots: SLOTS, slotBytes: SLOT_BYTES, expectedGeneration: GENERATION } as const;
    let consumer = new DescriptorRing(sab, layout.submit, consumerOptions);
    const started = startWorker(HOSTILE_PRODUCER, {
      sab,
      ring: layout.submit,
      ctlSab: ctl.buffer,
      slots: SLOTS,
      slotBytes: SLOT_BYTES,
      generation: GENERATION,
    });
    worker = started.worker;
    await waitUntil(() => Atomics.load(ctl, FLIPS) > 0, 'the hostile producer runs');

    const bytes = new Uint8Array(sab);
    let sink = 0;
    let uses = 0;
    let outOfRange = 0;
    const violations = new Map<RingViolationKind, number>();
    const visit = (d: Descriptor): void => {
      const inRange =
        Number.isInteger(d.slot) && d.slot >= 0 && d.slot < SLOTS && Number.isInteger(d.length) && d.length >= 0 && d.length <= SLOT_BYTES;
      if (!inRange) {
        outOfRange += 1;
        return;
      }
      uses += 1;
      // The use: read the last byte the descriptor names.
      if (d.length > 0) sink |= bytes[layout.slotsOffset + d.slot * layout.slotStride + d.length - 1] ?? 0x100;
    };

    const deadline = performance.now() + 20_000;
    let rounds = 0;
    while (rounds < ROUNDS && performance.now() < deadline) {
      const delivered = consumer.drain(1, visit);
      const violation = consumer.violation;
      if (violation !== undefined) {
        violations.set(violation.violation, (violations.get(violation.violation) ?? 0) + 1);
        rounds += 1;
        // A violated ring end is dead by design. For the test, attach a fresh consumer: it
        // resumes at the published head and re-reads the same (still flipping) descriptor.
        consumer = new DescriptorRing(sab, layout.submit, consumerOptions);
      } else {
        rounds += delivered;
      }
    }
    Atomics.store(ctl, STOP, 1);

    const summary = `${rounds} rounds, ${uses} validated uses, violations ${JSON.stringify(Object.fromEntries(violations))}, out-of-range uses ${outOfRange}`;
    console.info(`toctou: ${summary}`);
    expect(outOfRange, summary).toBe(0);
    expect(sink).toBe(0);
    expect(rounds, summary).toBe(ROUNDS);
    // The race did happen, both ways, and only the flipped fields were ever refused.
    expect(uses, summary).toBeGreaterThan(0);
    expect([...violations.keys()].sort(), summary).toEqual(['length', 'slot']);
  }, 30_000);
});
