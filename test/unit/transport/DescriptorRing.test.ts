import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DescriptorRing, type Descriptor } from '../../../src/transport/DescriptorRing.js';
import { createSegment, descriptor, drainAll, ringPair } from './support/segmentFixture.js';

const SLOTS = 4;
const SLOT_BYTES = 256;

function setup(ringCapacity = 8, startCounter = 0) {
  const segment = createSegment({ slots: SLOTS, slotBytes: SLOT_BYTES, ringCapacity }, { startCounter });
  return { segment, ...ringPair(segment) };
}

const desc = (seq: number, overrides: Partial<Descriptor> = {}): Descriptor => descriptor(seq, SLOTS, SLOT_BYTES, overrides);

describe('DescriptorRing', () => {
  it('delivers descriptors in FIFO order with every field intact', () => {
    const { producer, consumer } = setup();
    const sent = [
      desc(0),
      desc(1, { seq: 2 ** 53 - 1, timestamp: -1.25e300, aux: 0xffff_ffff, width: 0xffff_ffff, formatCode: 0x8000_0000 }),
      desc(2, { seq: 2 ** 32 + 5, timestamp: Number.NaN, generation: 0xffff_ffff, length: SLOT_BYTES, slot: SLOTS - 1 }),
    ];
    for (const d of sent) expect(producer.tryPush(d)).toBe(true);
    expect(consumer.size()).toBe(3);
    expect(drainAll(consumer)).toEqual(sent);
    expect(consumer.size()).toBe(0);
    expect(producer.free()).toBe(8);
  });

  it('reports full and empty, and frees room as the consumer drains', () => {
    const { producer, consumer } = setup(8);
    expect(consumer.size()).toBe(0);
    expect(consumer.hasPending()).toBe(false);
    expect(drainAll(consumer)).toEqual([]);
    for (let i = 0; i < 8; i++) expect(producer.tryPush(desc(i))).toBe(true);
    expect(producer.tryPush(desc(8))).toBe(false);
    expect(producer.free()).toBe(0);
    expect(producer.size()).toBe(8);
    expect(consumer.hasPending()).toBe(true);
    expect(drainAll(consumer, 3).map((d) => d.seq)).toEqual([0, 1, 2]);
    expect(producer.free()).toBe(3);
    expect(producer.tryPush(desc(8))).toBe(true);
    expect(drainAll(consumer).map((d) => d.seq)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(consumer.violation).toBeUndefined();
  });

  it('hides staged descriptors from the consumer until one publication hands them all over', () => {
    const { producer, consumer } = setup(4);
    expect(producer.hasStaged).toBe(false);
    producer.publish(); // nothing staged: a no-op
    for (let i = 0; i < 3; i++) expect(producer.stage(desc(i))).toBe(true);
    expect(producer.hasStaged).toBe(true);
    expect(consumer.hasPending()).toBe(false);
    expect(drainAll(consumer)).toEqual([]);
    // Staged entries take room: the producer does not write over them.
    expect(producer.free()).toBe(1);
    expect(producer.stage(desc(3))).toBe(true);
    expect(producer.stage(desc(4))).toBe(false);
    producer.publish();
    expect(producer.hasStaged).toBe(false);
    expect(drainAll(consumer).map((d) => d.seq)).toEqual([0, 1, 2, 3]);
    // tryPush publishes what was staged before it too.
    expect(producer.stage(desc(5))).toBe(true);
    expect(producer.tryPush(desc(6))).toBe(true);
    expect(drainAll(consumer).map((d) => d.seq)).toEqual([5, 6]);
    expect(() => consumer.stage(desc(7))).toThrow(/consumer/);
  });

  it('drains everything available in one call, including what arrives meanwhile, up to max', () => {
    const { producer, consumer } = setup(128);
    for (let i = 0; i < 50; i++) producer.tryPush(desc(i));
    const seen: number[] = [];
    // The visitor plays a producer that keeps publishing while the consumer drains.
    const count = consumer.drain(Number.POSITIVE_INFINITY, (d) => {
      seen.push(d.seq);
      if (d.seq < 60) producer.tryPush(desc(d.seq + 50));
    });
    expect(count).toBe(110);
    expect(seen).toEqual(Array.from({ length: 110 }, (_, i) => i));
    for (let i = 0; i < 20; i++) producer.tryPush(desc(i));
    expect(consumer.drain(7, () => undefined)).toBe(7);
    expect(consumer.size()).toBe(13);
  });

  it('hands every visit one object, refilled per descriptor (no garbage per descriptor; valid only during the visit)', () => {
    const { producer, consumer } = setup(8);
    for (let i = 0; i < 5; i++) producer.tryPush(desc(i));
    const objects = new Set<object>();
    const seqs: number[] = [];
    consumer.drain(Number.POSITIVE_INFINITY, (d) => {
      objects.add(d);
      seqs.push(d.seq);
    });
    expect(objects.size).toBe(1);
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
  });

  it('stores its head only when a drain took something (a drain finding nothing writes no shared word)', () => {
    const { segment, producer, consumer } = setup();
    const head = new Uint32Array(segment.sab, segment.layout.submit.headOffset, 1);
    for (let i = 0; i < 2; i++) producer.tryPush(desc(i));
    expect(drainAll(consumer)).toHaveLength(2);
    expect(Atomics.load(head, 0)).toBe(2);
    // A marker in the word (only ever stored to by the consumer): an empty drain leaves it.
    Atomics.store(head, 0, 7);
    expect(drainAll(consumer)).toEqual([]);
    expect(Atomics.load(head, 0)).toBe(7);
    producer.tryPush(desc(2));
    expect(drainAll(consumer)).toHaveLength(1);
    expect(Atomics.load(head, 0)).toBe(3);
  });

  it('keeps order and counts across the 2^32 counter wraparound', () => {
    const { segment, producer, consumer } = setup(8, 0xffff_fff0);
    const head = new Uint32Array(segment.sab, segment.layout.submit.headOffset, 1);
    const tail = new Uint32Array(segment.sab, segment.layout.submit.tailOffset, 1);
    const received: number[] = [];
    let next = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 1 + (round % 8); i++) expect(producer.tryPush(desc(next++))).toBe(true);
      expect(consumer.size()).toBe(1 + (round % 8));
      consumer.drain(Number.POSITIVE_INFINITY, (d) => received.push(d.seq));
    }
    expect(received).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(tail[0]).toBe((0xffff_fff0 + next) >>> 0);
    expect(tail[0]).toBeLessThan(0xffff_fff0);
    expect(head[0]).toBe(tail[0]);
    expect(consumer.violation).toBeUndefined();
  });

  it('publishes the head for descriptors consumed before a visitor throws', () => {
    const { producer, consumer } = setup();
    for (let i = 0; i < 5; i++) producer.tryPush(desc(i));
    expect(() =>
      consumer.drain(10, (d) => {
        if (d.seq === 2) throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(producer.free()).toBe(8 - 2);
    expect(drainAll(consumer).map((d) => d.seq)).toEqual([3, 4]);
  });

  it('refuses misuse by this side with clear errors', () => {
    const { producer, consumer } = setup();
    expect(() => consumer.tryPush(desc(0))).toThrow(/consumer/);
    expect(() => producer.drain(1, () => undefined)).toThrow(/producer/);
    expect(() => consumer.drain(-1, () => undefined)).toThrow(RangeError);
    producer.tryPush(desc(0));
    expect(() => consumer.drain(1, () => consumer.drain(1, () => undefined))).toThrow(/re-entrant/);
    for (const bad of [
      { slot: SLOTS },
      { slot: -1 },
      { length: SLOT_BYTES + 1 },
      { length: 1.5 },
      { seq: 2 ** 53 },
      { seq: -1 },
      { generation: 2 ** 32 },
      { kind: -1 },
      { width: Number.NaN },
      { aux: 2 ** 32 },
    ]) {
      expect(() => producer.tryPush(desc(1, bad)), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(producer.size()).toBe(0);
  });

  it('validates generation, kind limit and slotless kinds on the consumer side', () => {
    const segment = createSegment({ slots: SLOTS, slotBytes: SLOT_BYTES, ringCapacity: 8 });
    const options = { slots: SLOTS, slotBytes: SLOT_BYTES, kindLimit: 4, isSlotless: (kind: number) => kind === 3 };
    const producer = new DescriptorRing(segment.sab, segment.layout.submit, { ...options, role: 'producer' });
    const violations: unknown[] = [];
    const consumer = new DescriptorRing(segment.sab, segment.layout.submit, {
      ...options,
      role: 'consumer',
      expectedGeneration: 1,
      onViolation: (v) => violations.push(v),
    });
    expect(() => producer.tryPush(desc(0, { kind: 4 }))).toThrow(/kind/);
    expect(() => producer.tryPush(desc(1, { kind: 3, slot: 1 }))).toThrow(/slotless/);
    producer.tryPush(desc(0, { kind: 3, slot: 0, length: 0 }));
    producer.tryPush(desc(1, { kind: 1 }));
    producer.tryPush(desc(2, { kind: 1, generation: 2 }));
    producer.tryPush(desc(3, { kind: 1 }));
    expect(drainAll(consumer).map((d) => d.seq)).toEqual([0, 1]);
    expect(consumer.violation).toMatchObject({ ok: false, violation: 'generation' });
    expect(violations).toEqual([consumer.violation]);
    // Sticky: nothing more is delivered, and the ring reports nothing to do but the violation.
    expect(drainAll(consumer)).toEqual([]);
    expect(consumer.size()).toBe(0);
    expect(consumer.hasPending()).toBe(true);
    consumer.expectedGeneration = 2;
    expect(drainAll(consumer)).toEqual([]);
  });

  it('behaves like a bounded FIFO queue (model-based, arbitrary start counter)', () => {
    interface Model {
      queue: Descriptor[];
      nextSeq: number;
      readonly capacity: number;
    }
    interface Real {
      readonly producer: DescriptorRing;
      readonly consumer: DescriptorRing;
    }
    class Push implements fc.Command<Model, Real> {
      constructor(readonly overrides: Partial<Descriptor>) {}
      check(): boolean {
        return true;
      }
      run(model: Model, real: Real): void {
        const d = desc(model.nextSeq, this.overrides);
        const accepted = real.producer.tryPush(d);
        expect(accepted).toBe(model.queue.length < model.capacity);
        if (accepted) {
          model.queue.push(d);
          model.nextSeq += 1;
        }
      }
      toString(): string {
        return `push(${JSON.stringify(this.overrides)})`;
      }
    }
    class Drain implements fc.Command<Model, Real> {
      constructor(readonly max: number) {}
      check(): boolean {
        return true;
      }
      run(model: Model, real: Real): void {
        const got = drainAll(real.consumer, this.max);
        expect(got).toEqual(model.queue.splice(0, this.max));
      }
      toString(): string {
        return `drain(${this.max})`;
      }
    }
    class Sizes implements fc.Command<Model, Real> {
      check(): boolean {
        return true;
      }
      run(model: Model, real: Real): void {
        expect(real.consumer.size()).toBe(model.queue.length);
        expect(real.producer.size()).toBe(model.queue.length);
        expect(real.producer.free()).toBe(model.capacity - model.queue.length);
        expect(real.consumer.hasPending()).toBe(model.queue.length > 0);
      }
      toString(): string {
        return 'sizes';
      }
    }
    const commands = [
      fc
        .record({
          slot: fc.nat({ max: SLOTS - 1 }),
          length: fc.nat({ max: SLOT_BYTES }),
          width: fc.nat({ max: 0xffff_ffff }),
          aux: fc.nat({ max: 0xffff_ffff }),
          timestamp: fc.double(),
        })
        .map((overrides) => new Push(overrides)),
      fc.integer({ min: 0, max: 20 }).map((max) => new Drain(max)),
      fc.constant(new Sizes()),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }).map((bits) => 2 ** bits),
        fc.oneof(fc.nat({ max: 0xffff_ffff }), fc.integer({ min: 0xffff_ffc0, max: 0xffff_ffff })),
        fc.commands(commands, { maxCommands: 200 }),
        (capacity, start, cmds) => {
          const { producer, consumer } = setup(capacity, start);
          fc.modelRun(() => ({ model: { queue: [], nextSeq: 0, capacity }, real: { producer, consumer } }), cmds);
          expect(consumer.violation).toBeUndefined();
          expect(producer.violation).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('DescriptorRing payload kinds', () => {
  const PAYLOAD_KIND = 7;
  const inPayload = (kind: number): boolean => kind === PAYLOAD_KIND;

  function payloadPair(ringCapacity = 4) {
    const segment = createSegment({ slots: SLOTS, slotBytes: SLOT_BYTES, ringCapacity });
    const base = { slots: SLOTS, slotBytes: SLOT_BYTES, inPayload };
    return {
      segment,
      producer: new DescriptorRing(segment.sab, segment.layout.submit, { ...base, role: 'producer' }),
      consumer: new DescriptorRing(segment.sab, segment.layout.submit, { ...base, role: 'consumer' }),
    };
  }

  /** Pushes `text` as a payload kind; false when the ring is full. */
  function pushText(producer: DescriptorRing, seq: number, text: string): boolean {
    const area = producer.reservePayload();
    if (area === undefined) return false;
    const length = area.write(text, 0, 'utf8');
    return producer.tryPush(desc(seq, { kind: PAYLOAD_KIND, slot: 0, length }));
  }

  it("hands each entry's payload to the visitor, copied out of shared memory first", () => {
    const { segment, producer, consumer } = payloadPair();
    const shared = new Uint8Array(segment.sab);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect(pushText(producer, round * 4 + i, `payload ${round}.${i}`)).toBe(true);
      expect(producer.reservePayload()).toBeUndefined();
      const seen: string[] = [];
      consumer.drain(Number.POSITIVE_INFINITY, (d, payload) => {
        expect(payload.buffer).not.toBe(segment.sab);
        // The peer rewrites this entry's payload while the visitor reads it: the copy holds.
        const ring = segment.layout.submit;
        const at = ring.payloadOffset + (d.seq % ring.capacity) * ring.payloadBytes;
        shared.fill(0x41, at, at + ring.payloadBytes);
        seen.push(payload.toString('utf8', 0, d.length));
      });
      expect(seen).toEqual([0, 1, 2, 3].map((i) => `payload ${round}.${i}`));
    }
    expect(consumer.violation).toBeUndefined();
  });

  it("reads the consumer's counter only when the last value read leaves no room", () => {
    const { segment, producer, consumer } = payloadPair();
    const capacity = segment.layout.submit.capacity;
    const head = new Uint32Array(segment.sab, segment.layout.submit.headOffset, 1);
    const push = (seq: number): boolean => producer.reservePayload() !== undefined && producer.tryPush(desc(seq, { kind: PAYLOAD_KIND, slot: 0, length: 1 }));
    for (let i = 0; i < capacity; i++) expect(push(i)).toBe(true);
    // Full by the head read at construction: the next reservation reads the head again.
    expect(producer.reservePayload()).toBeUndefined();
    expect(drainAll(consumer)).toHaveLength(capacity);
    expect(push(capacity)).toBe(true);
    // The head it read now (capacity) leaves room for the rest of a ring: corrupting it
    // meanwhile changes nothing until the producer needs it again, and then is a violation.
    head[0] = 3 * capacity;
    for (let i = 1; i < capacity; i++) expect(push(capacity + i)).toBe(true);
    expect(producer.violation).toBeUndefined();
    expect(push(2 * capacity)).toBe(false);
    expect(producer.violation).toMatchObject({ violation: 'ring_index' });
  });

  it('takes a payload kind up to the payload area, no slot, and refuses more as a violation', () => {
    const { segment, producer, consumer } = payloadPair();
    const payloadBytes = segment.layout.submit.payloadBytes;
    expect(() => producer.tryPush(desc(0, { kind: PAYLOAD_KIND, slot: 0, length: payloadBytes + 1 }))).toThrow(RangeError);
    expect(() => producer.tryPush(desc(0, { kind: PAYLOAD_KIND, slot: 1, length: 0 }))).toThrow(RangeError);
    expect(producer.tryPush(desc(0, { kind: PAYLOAD_KIND, slot: 0, length: payloadBytes }))).toBe(true);
    expect(drainAll(consumer).map((d) => d.length)).toEqual([payloadBytes]);
    // A hostile producer writes the words itself (word 0 slot, word 1 length of entry 1).
    for (const [word, value, detail] of [
      [1, payloadBytes + 1, `length ${payloadBytes + 1}`],
      [0, 1, 'slot 1'],
    ] as const) {
      const { segment: hostile, producer: p, consumer: c } = payloadPair();
      expect(p.tryPush(desc(0, { kind: PAYLOAD_KIND, slot: 0, length: 1 }))).toBe(true);
      new Uint32Array(hostile.sab, hostile.layout.submit.descriptorsOffset, 16)[word] = value;
      expect(drainAll(c)).toEqual([]);
      expect(c.violation).toMatchObject({ violation: 'length' });
      expect(c.violation?.detail).toContain(detail);
    }
  });
});

describe('DescriptorRing extra bytes of a slot kind', () => {
  const FRAME_KIND = 1;
  const withExtra = (kind: number): boolean => kind === FRAME_KIND;

  function extraPair(consumerWithExtra = true) {
    const segment = createSegment({ slots: SLOTS, slotBytes: SLOT_BYTES, ringCapacity: 4 });
    const base = { slots: SLOTS, slotBytes: SLOT_BYTES };
    return {
      segment,
      producer: new DescriptorRing(segment.sab, segment.layout.submit, { ...base, withExtra, role: 'producer' }),
      consumer: new DescriptorRing(segment.sab, segment.layout.submit, { ...base, ...(consumerWithExtra ? { withExtra } : {}), role: 'consumer' }),
    };
  }

  it('carries a slot and a few bytes in the entry, copied out for the visitor', () => {
    const { segment, producer, consumer } = extraPair();
    const shared = new Uint8Array(segment.sab);
    for (const [seq, name] of ['RGBA', 'bayer_rggb', 'yuv→😀'].entries()) {
      const area = producer.reservePayload();
      if (area === undefined) throw new Error('ring full');
      const extra = area.write(name, 0, 'utf8');
      expect(producer.tryPush(desc(seq, { kind: FRAME_KIND, slot: 2, length: 100, extra }))).toBe(true);
    }
    // A slot kind without extra bytes still goes as before.
    expect(producer.tryPush(desc(3, { kind: FRAME_KIND, slot: 3, length: 7 }))).toBe(true);
    const seen: [number, number, string][] = [];
    consumer.drain(Number.POSITIVE_INFINITY, (d, payload) => {
      const ring = segment.layout.submit;
      const at = ring.payloadOffset + (d.seq % ring.capacity) * ring.payloadBytes;
      shared.fill(0x41, at, at + ring.payloadBytes);
      seen.push([d.slot, d.length, payload.toString('utf8', 0, d.extra)]);
    });
    expect(seen).toEqual([
      [2, 100, 'RGBA'],
      [2, 100, 'bayer_rggb'],
      [2, 100, 'yuv→😀'],
      [3, 7, ''],
    ]);
    expect(consumer.violation).toBeUndefined();
  });

  it('refuses extra bytes on another kind or past the payload area: RangeError here, a violation from a peer', () => {
    const { segment, producer } = extraPair();
    const payloadBytes = segment.layout.submit.payloadBytes;
    expect(() => producer.tryPush(desc(0, { kind: 2, extra: 1 }))).toThrow(/extra 1 must be 0 for this kind/);
    expect(() => producer.tryPush(desc(0, { kind: FRAME_KIND, extra: payloadBytes + 1 }))).toThrow(RangeError);
    // A hostile producer writes word 12 (extra) of entry 0 itself.
    for (const [kind, extra, consumerWithExtra] of [
      [FRAME_KIND, payloadBytes + 1, true],
      [2, 1, true],
      [FRAME_KIND, 1, false],
    ] as const) {
      const { segment: hostile, producer: p, consumer: c } = extraPair(consumerWithExtra);
      expect(p.tryPush(desc(0, { kind }))).toBe(true);
      new Uint32Array(hostile.sab, hostile.layout.submit.descriptorsOffset, 16)[12] = extra;
      expect(drainAll(c)).toEqual([]);
      expect(c.violation).toMatchObject({ violation: 'length' });
      expect(c.violation?.detail).toContain(`carries ${extra} extra bytes`);
    }
  });
});
