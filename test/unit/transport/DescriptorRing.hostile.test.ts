/**
 * A hostile peer owns half of every ring: it can write any word of the ring's memory. These
 * tests corrupt those words directly in the SharedArrayBuffer and check that our end reports
 * a typed violation, never throws, never delivers an out-of-range value and never touches
 * memory outside the ring.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Descriptor, RingViolationKind } from '../../../src/transport/DescriptorRing.js';
import { DESCRIPTOR_BYTES } from '../../../src/transport/segmentLayout.js';
import { createSegment, descriptor, drainAll, ringPair, type Segment } from './support/segmentFixture.js';

const SLOTS = 4;
const SLOT_BYTES = 256;
const CAPACITY = 8;
const GENERATION = 1;

// Word offsets inside a descriptor, as documented in DescriptorRing.ts.
const W_SLOT = 0;
const W_LENGTH = 1;
const W_SEQ_HI = 3;
const W_GENERATION = 4;

function setup(startCounter = 0) {
  const segment = createSegment({ slots: SLOTS, slotBytes: SLOT_BYTES, ringCapacity: CAPACITY }, { startCounter, generation: GENERATION });
  const ring = segment.layout.submit;
  return {
    segment,
    ...ringPair(segment, { expectedGeneration: GENERATION }),
    head: new Int32Array(segment.sab, ring.headOffset, 1),
    tail: new Int32Array(segment.sab, ring.tailOffset, 1),
    /** Descriptor words, as the peer sees them (signed, to write -1 and 2^31 the way C would). */
    words: new Int32Array(segment.sab, ring.descriptorsOffset, (CAPACITY * DESCRIPTOR_BYTES) / 4),
  };
}

/** Asserts that a delivered descriptor is within the validated ranges, and uses it. */
function useSafely(segment: Segment, d: Descriptor): void {
  expect(Number.isInteger(d.slot) && d.slot >= 0 && d.slot < SLOTS).toBe(true);
  expect(Number.isInteger(d.length) && d.length >= 0 && d.length <= SLOT_BYTES).toBe(true);
  expect(Number.isSafeInteger(d.seq) && d.seq >= 0).toBe(true);
  expect(d.generation).toBe(GENERATION);
  // A real use: a view of exactly the bytes named (the constructor throws if out of the buffer).
  const { slotsOffset, slotStride } = segment.layout;
  const view = new Uint8Array(segment.sab, slotsOffset + d.slot * slotStride, d.length);
  expect(view.byteOffset + view.byteLength).toBeLessThanOrEqual(slotsOffset + d.slot * slotStride + SLOT_BYTES);
}

const desc = (seq: number): Descriptor => descriptor(seq, SLOTS, SLOT_BYTES);

describe('DescriptorRing against a hostile peer', () => {
  it.each([
    ['tail = 0xFFFFFFFF', 0, -1],
    ['tail = 2^31', 0, 0x8000_0000 | 0],
    ['tail = head + capacity + 1', 0, CAPACITY + 1],
    ['tail = head - 1 (2^32 - 1 ahead)', 5, 4],
  ])('consumer reports ring_index for %s', (_name, start, value) => {
    const { consumer, tail } = setup(start);
    Atomics.store(tail, 0, value);
    const delivered: Descriptor[] = [];
    expect(consumer.drain(Number.POSITIVE_INFINITY, (d) => delivered.push({ ...d }))).toBe(0);
    expect(delivered).toEqual([]);
    expect(consumer.violation).toMatchObject({ ok: false, violation: 'ring_index' });
    expect(consumer.size()).toBe(0);
    expect(consumer.hasPending()).toBe(true);
  });

  it('reports ring_index from size() too, before any drain', () => {
    const { consumer, tail } = setup(100);
    Atomics.store(tail, 0, 100 + CAPACITY + 1);
    expect(consumer.size()).toBe(0);
    expect(consumer.violation?.violation).toBe('ring_index');
  });

  it.each([
    ['head = 0xFFFFFFFF', -1],
    ['head = 2^31', 0x8000_0000 | 0],
    ['head ahead of the tail', CAPACITY + 3],
    ['head behind the tail (never produced)', -2],
  ])('producer reports ring_index for %s, once it needs the head, and writes nothing', (_name, value) => {
    const { producer, head, words } = setup();
    Atomics.store(head, 0, value);
    // The last head it read (0) leaves room for a full ring: those pushes do not read it.
    for (let i = 0; i < CAPACITY; i++) expect(producer.tryPush(desc(i))).toBe(true);
    expect(producer.violation).toBeUndefined();
    const before = Array.from(words);
    expect(producer.tryPush(desc(CAPACITY))).toBe(false);
    expect(producer.violation?.violation).toBe('ring_index');
    expect(producer.free()).toBe(0);
    expect(Array.from(words)).toEqual(before);
  });

  it('producer reports ring_index for a corrupt head from free() at once', () => {
    const { producer, head } = setup();
    Atomics.store(head, 0, -1);
    expect(producer.free()).toBe(0);
    expect(producer.violation?.violation).toBe('ring_index');
    expect(producer.tryPush(desc(0))).toBe(false);
  });

  it('reports ring_index when the producer moves its tail backwards, even within capacity', () => {
    const { producer, consumer, tail } = setup();
    for (let i = 0; i < 3; i++) producer.tryPush(desc(i));
    expect(consumer.size()).toBe(3);
    Atomics.store(tail, 0, 2);
    expect(consumer.drain(Number.POSITIVE_INFINITY, () => undefined)).toBe(0);
    expect(consumer.violation?.violation).toBe('ring_index');
  });

  it('reports ring_index when the consumer moves its head backwards, even within capacity', () => {
    const { producer, consumer, head } = setup();
    for (let i = 0; i < 3; i++) producer.tryPush(desc(i));
    drainAll(consumer);
    expect(producer.free()).toBe(CAPACITY);
    Atomics.store(head, 0, 1);
    // Room by the head it last read (3): a full ring's worth of pushes before it reads again.
    for (let i = 3; i < 3 + CAPACITY; i++) expect(producer.tryPush(desc(i))).toBe(true);
    expect(producer.tryPush(desc(3 + CAPACITY))).toBe(false);
    expect(producer.violation?.violation).toBe('ring_index');
  });

  it('ignores what the peer writes into our own counter word', () => {
    const { producer, consumer, head } = setup();
    for (let i = 0; i < 3; i++) producer.tryPush(desc(i));
    Atomics.store(head, 0, 0x7fff_ffff);
    expect(drainAll(consumer).map((d) => d.seq)).toEqual([0, 1, 2]);
    expect(consumer.violation).toBeUndefined();
    expect(Atomics.load(head, 0)).toBe(3);
  });

  it.each<[string, number, number, RingViolationKind]>([
    ['slot = 0xFFFFFFFF', W_SLOT, -1, 'slot'],
    ['slot = 2^31', W_SLOT, 0x8000_0000 | 0, 'slot'],
    ['slot = slots', W_SLOT, SLOTS, 'slot'],
    ['length = slotBytes + 1', W_LENGTH, SLOT_BYTES + 1, 'length'],
    ['length = 0xFFFFFFFF', W_LENGTH, -1, 'length'],
    ['length = 2^31', W_LENGTH, 0x8000_0000 | 0, 'length'],
    ['seq beyond 2^53', W_SEQ_HI, 1 << 21, 'seq'],
    ['generation of another guest', W_GENERATION, GENERATION + 1, 'generation'],
  ])('consumer reports a violation for %s and delivers only the good descriptors before it', (_name, word, value, kind) => {
    const { segment, producer, consumer, words } = setup(0xffff_fffe);
    for (let i = 0; i < 4; i++) producer.tryPush(desc(i));
    // Corrupt the third published descriptor (counter 0xffff_fffe + 2 wraps to index 0).
    const index = (0xffff_fffe + 2) % CAPACITY;
    Atomics.store(words, index * (DESCRIPTOR_BYTES / 4) + word, value);
    const delivered: Descriptor[] = [];
    expect(() => consumer.drain(Number.POSITIVE_INFINITY, (d) => delivered.push({ ...d }))).not.toThrow();
    expect(delivered.map((d) => d.seq)).toEqual([0, 1]);
    for (const d of delivered) useSafely(segment, d);
    expect(consumer.violation).toMatchObject({ ok: false, violation: kind });
    expect(consumer.violation?.detail).toMatch(/descriptor 0/);
  });

  it('never throws, never delivers out of range and never writes outside the ring, whatever words the peer corrupts', () => {
    const segment0 = setup();
    const ring = segment0.segment.layout.submit;
    // Peer-writable words: the head and tail lines, and every descriptor word.
    const ringWords = (ring.descriptorsOffset - ring.headOffset + CAPACITY * DESCRIPTOR_BYTES) / 4;
    const corruption = fc.array(
      fc.record({
        word: fc.oneof(
          fc.constantFrom(0, (ring.tailOffset - ring.headOffset) / 4),
          fc.integer({ min: (ring.descriptorsOffset - ring.headOffset) / 4, max: ringWords - 1 }),
        ),
        value: fc.oneof(
          fc.nat({ max: 0xffff_ffff }),
          fc.constantFrom(0, 1, SLOTS, SLOTS - 1, SLOT_BYTES, SLOT_BYTES + 1, CAPACITY, CAPACITY + 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff),
        ),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: CAPACITY }), corruption, (start, pushed, writes) => {
        const { segment, producer, consumer } = setup(start);
        for (let i = 0; i < pushed; i++) producer.tryPush(desc(i));
        const all = new Uint32Array(segment.sab);
        const outside = (i: number) => i * 4 < ring.headOffset || i * 4 >= ring.descriptorsOffset + CAPACITY * DESCRIPTOR_BYTES;
        for (const { word, value } of writes) all[ring.headOffset / 4 + word] = value;
        const snapshot = Array.from(all).filter((_, i) => outside(i));

        let delivered = 0;
        expect(() =>
          consumer.drain(Number.POSITIVE_INFINITY, (d) => {
            delivered += 1;
            useSafely(segment, d);
          }),
        ).not.toThrow();
        expect(delivered).toBeLessThanOrEqual(CAPACITY);
        expect(() => producer.tryPush(desc(99))).not.toThrow();
        expect(() => producer.free() + consumer.size()).not.toThrow();
        expect(Array.from(all).filter((_, i) => outside(i))).toEqual(snapshot);
        if (consumer.violation !== undefined) {
          expect(['ring_index', 'slot', 'length', 'seq', 'generation', 'kind']).toContain(consumer.violation.violation);
          expect(consumer.drain(Number.POSITIVE_INFINITY, () => undefined)).toBe(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
