import { DescriptorRing, type Descriptor, type DescriptorRingOptions } from '../../../../src/transport/DescriptorRing.js';
import { computeSegmentLayout, writeSegmentHeader, type SegmentLayout, type SegmentParams } from '../../../../src/transport/segmentLayout.js';

/** A freshly created segment with its header written and both rings initialised. */
export interface Segment {
  readonly sab: SharedArrayBuffer;
  readonly layout: SegmentLayout;
}

export function createSegment(params: SegmentParams, options: { readonly startCounter?: number; readonly generation?: number } = {}): Segment {
  const layout = computeSegmentLayout(params);
  const sab = new SharedArrayBuffer(layout.totalBytes);
  writeSegmentHeader(sab, layout, { epoch: 1, generation: options.generation ?? 1 });
  DescriptorRing.initialize(sab, layout.submit, options.startCounter ?? 0);
  DescriptorRing.initialize(sab, layout.complete, options.startCounter ?? 0);
  return { sab, layout };
}

/** Producer and consumer ends of the submit ring, in this thread. */
export function ringPair(
  segment: Segment,
  consumerOptions: Partial<Omit<DescriptorRingOptions, 'role'>> = {},
): { readonly producer: DescriptorRing; readonly consumer: DescriptorRing } {
  const base = { slots: segment.layout.slots, slotBytes: segment.layout.slotBytes };
  return {
    producer: new DescriptorRing(segment.sab, segment.layout.submit, { ...base, role: 'producer' }),
    consumer: new DescriptorRing(segment.sab, segment.layout.submit, { ...base, ...consumerOptions, role: 'consumer' }),
  };
}

/** A valid descriptor numbered `seq` for a segment of `slots` slots of `slotBytes` bytes. */
export function descriptor(seq: number, slots: number, slotBytes: number, overrides: Partial<Descriptor> = {}): Descriptor {
  return {
    slot: seq % slots,
    length: seq % (slotBytes + 1),
    seq,
    generation: 1,
    kind: seq % 3,
    width: 640,
    height: 480,
    formatCode: 2,
    timestamp: seq * 0.5,
    aux: seq % 7,
    extra: 0,
    ...overrides,
  };
}

/** Drains everything available and returns it. */
export function drainAll(ring: DescriptorRing, max = Number.POSITIVE_INFINITY): Descriptor[] {
  const out: Descriptor[] = [];
  // A copy: drain refills one object per descriptor.
  ring.drain(max, (desc) => out.push({ ...desc }));
  return out;
}
