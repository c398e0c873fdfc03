/**
 * What validation costs the ring consumer: `npx vitest bench --run bench/transport`.
 *
 * Both cases move BATCH descriptors through a ring in one thread (push all, drain all). The
 * baseline does the same stores, the same single fetch (each word of an entry read once from
 * shared memory) and the same object allocation as DescriptorRing, without any check; the difference is the price of
 * validating (ring index, slot, length, seq, generation, kind). Divide a case's mean time
 * by BATCH for the cost per descriptor.
 */
import { bench, describe } from 'vitest';
import { DescriptorRing, type Descriptor } from '../../src/transport/DescriptorRing.js';
import { computeSegmentLayout } from '../../src/transport/segmentLayout.js';

const BATCH = 512;
const layout = computeSegmentLayout({ slots: 16, slotBytes: 4096, ringCapacity: 1024 });
const sab = new SharedArrayBuffer(layout.totalBytes);
DescriptorRing.initialize(sab, layout.submit);
const base = { slots: layout.slots, slotBytes: layout.slotBytes };
const producer = new DescriptorRing(sab, layout.submit, { ...base, role: 'producer' });
const consumer = new DescriptorRing(sab, layout.submit, { ...base, role: 'consumer', expectedGeneration: 1 });

const descriptors: Descriptor[] = Array.from({ length: BATCH }, (_, i) => ({
  slot: i % 16,
  length: 1000 + i,
  seq: 2 ** 40 + i,
  generation: 1,
  kind: 1,
  width: 1920,
  height: 1080,
  formatCode: 3,
  timestamp: i * 16.6,
  aux: 0,
  extra: 0,
}));

let sink = 0;
const visit = (d: Descriptor): void => {
  sink += d.length;
};

/** The same work as DescriptorRing, minus every check. */
function unvalidatedRoundTrip(): void {
  const words = new Uint32Array(sab, layout.complete.descriptorsOffset, 1024 * 16);
  const floats = new Float64Array(sab, layout.complete.descriptorsOffset, 1024 * 8);
  const head = new Uint32Array(sab, layout.complete.headOffset, 1);
  const tail = new Uint32Array(sab, layout.complete.tailOffset, 1);
  let t = Atomics.load(tail, 0);
  for (const d of descriptors) {
    const b = (t & 1023) * 16;
    words[b] = d.slot;
    words[b + 1] = d.length;
    words[b + 2] = d.seq >>> 0;
    words[b + 3] = Math.floor(d.seq / 2 ** 32);
    words[b + 4] = d.generation;
    words[b + 5] = d.kind;
    words[b + 6] = d.width;
    words[b + 7] = d.height;
    words[b + 8] = d.formatCode;
    words[b + 9] = d.aux;
    floats[(t & 1023) * 8 + 5] = d.timestamp;
    t = (t + 1) >>> 0;
    Atomics.store(tail, 0, t);
  }
  let h = Atomics.load(head, 0);
  const end = Atomics.load(tail, 0);
  while (h !== end) {
    // Each word read once into a local, as DescriptorRing does.
    const b = (h & 1023) * 16;
    const slot = words[b] ?? 0;
    const length = words[b + 1] ?? 0;
    const seqLo = words[b + 2] ?? 0;
    const seqHi = words[b + 3] ?? 0;
    const generation = words[b + 4] ?? 0;
    const kind = words[b + 5] ?? 0;
    const width = words[b + 6] ?? 0;
    const height = words[b + 7] ?? 0;
    const formatCode = words[b + 8] ?? 0;
    const aux = words[b + 9] ?? 0;
    const timestamp = floats[(h & 1023) * 8 + 5] ?? 0;
    visit({ slot, length, seq: seqHi * 2 ** 32 + seqLo, generation, kind, width, height, formatCode, aux, timestamp, extra: 0 });
    h = (h + 1) >>> 0;
  }
  Atomics.store(head, 0, h);
}

describe(`${BATCH} descriptors pushed then drained`, () => {
  bench('DescriptorRing (validated)', () => {
    for (const d of descriptors) producer.tryPush(d);
    consumer.drain(Number.POSITIVE_INFINITY, visit);
    if (consumer.violation !== undefined) throw new Error(consumer.violation.detail);
  });

  bench('baseline (no validation)', () => {
    unvalidatedRoundTrip();
  });

});

export { sink };
