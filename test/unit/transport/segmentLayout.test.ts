import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CACHE_LINE_BYTES,
  DESCRIPTOR_BYTES,
  HEADER_BYTES,
  MAX_RING_CAPACITY,
  MAX_SLOT_BYTES,
  MAX_SLOTS,
  SEGMENT_LAYOUT_VERSION,
  SEGMENT_MAGIC,
  computeSegmentLayout,
  readSegmentHeader,
  writeSegmentHeader,
  type SegmentLayout,
} from '../../../src/transport/segmentLayout.js';

/** Every region of a layout as [name, start, end). */
function regions(layout: SegmentLayout): [string, number, number][] {
  const out: [string, number, number][] = [['header', 0, HEADER_BYTES]];
  for (const name of ['submit', 'complete'] as const) {
    const ring = layout[name];
    out.push([`${name}.head`, ring.headOffset, ring.headOffset + CACHE_LINE_BYTES]);
    out.push([`${name}.tail`, ring.tailOffset, ring.tailOffset + CACHE_LINE_BYTES]);
    out.push([`${name}.consumerPark`, ring.consumerParkOffset, ring.consumerParkOffset + CACHE_LINE_BYTES]);
    out.push([`${name}.producerPark`, ring.producerParkOffset, ring.producerParkOffset + CACHE_LINE_BYTES]);
    out.push([`${name}.descriptors`, ring.descriptorsOffset, ring.descriptorsOffset + ring.capacity * DESCRIPTOR_BYTES]);
    out.push([`${name}.payloads`, ring.payloadOffset, ring.payloadOffset + ring.capacity * ring.payloadBytes]);
  }
  for (let slot = 0; slot < layout.slots; slot++) {
    const start = layout.slotsOffset + slot * layout.slotStride;
    out.push([`slot${slot}`, start, start + layout.slotBytes]);
  }
  return out;
}

const paramsArb = fc.record({
  slots: fc.integer({ min: 1, max: 64 }),
  slotBytes: fc.integer({ min: 1, max: 1 << 20 }),
  ringCapacity: fc.integer({ min: 0, max: 12 }).map((bits) => 2 ** bits),
});

describe('computeSegmentLayout', () => {
  it('aligns every region to a cache line, keeps them disjoint and inside totalBytes', () => {
    fc.assert(
      fc.property(paramsArb, (params) => {
        const layout = computeSegmentLayout(params);
        expect(layout.slotStride % CACHE_LINE_BYTES).toBe(0);
        expect(layout.slotStride).toBeGreaterThanOrEqual(params.slotBytes);
        expect(layout.slotStride - params.slotBytes).toBeLessThan(CACHE_LINE_BYTES);
        const all = regions(layout).sort((a, b) => a[1] - b[1]);
        let previousEnd = 0;
        for (const [name, start, end] of all) {
          expect(start % CACHE_LINE_BYTES, name).toBe(0);
          expect(start, name).toBeGreaterThanOrEqual(previousEnd);
          expect(end, name).toBeLessThanOrEqual(layout.totalBytes);
          previousEnd = end;
        }
        expect(layout.totalBytes).toBe(layout.slotsOffset + params.slots * layout.slotStride);
      }),
    );
  });

  it('rounds slotBytes up to 64 for the stride', () => {
    expect(computeSegmentLayout({ slots: 2, slotBytes: 1, ringCapacity: 4 }).slotStride).toBe(64);
    expect(computeSegmentLayout({ slots: 2, slotBytes: 64, ringCapacity: 4 }).slotStride).toBe(64);
    expect(computeSegmentLayout({ slots: 2, slotBytes: 65, ringCapacity: 4 }).slotStride).toBe(128);
  });

  it.each([
    [{ slots: 0, slotBytes: 64, ringCapacity: 4 }, /slots must be a safe integer in \[1, 4096\], got 0/],
    [{ slots: MAX_SLOTS + 1, slotBytes: 64, ringCapacity: 4 }, /slots must be/],
    [{ slots: 1.5, slotBytes: 64, ringCapacity: 4 }, /slots must be/],
    [{ slots: Number.NaN, slotBytes: 64, ringCapacity: 4 }, /slots must be .* got NaN/],
    [{ slots: 1, slotBytes: 0, ringCapacity: 4 }, /slotBytes must be/],
    [{ slots: 1, slotBytes: MAX_SLOT_BYTES + 1, ringCapacity: 4 }, /slotBytes must be/],
    [{ slots: 1, slotBytes: -64, ringCapacity: 4 }, /slotBytes must be/],
    [{ slots: 1, slotBytes: 64, ringCapacity: 0 }, /ringCapacity must be/],
    [{ slots: 1, slotBytes: 64, ringCapacity: 3 }, /ringCapacity must be a power of two, got 3/],
    [{ slots: 1, slotBytes: 64, ringCapacity: MAX_RING_CAPACITY * 2 }, /ringCapacity must be/],
    [{ slots: MAX_SLOTS, slotBytes: MAX_SLOT_BYTES, ringCapacity: 4 }, /more than the 4294967296-byte cap/],
  ])('rejects %o with a RangeError', (params, message) => {
    expect(() => computeSegmentLayout(params)).toThrow(RangeError);
    expect(() => computeSegmentLayout(params)).toThrow(message);
  });
});

describe('segment header', () => {
  const layout = computeSegmentLayout({ slots: 3, slotBytes: 100, ringCapacity: 8 });

  it('round-trips epoch (beyond 2^32), generation and sizes', () => {
    const sab = new SharedArrayBuffer(layout.totalBytes);
    const epoch = 2 ** 40 + 12345;
    writeSegmentHeader(sab, layout, { epoch, generation: 0xffff_fffe });
    const read = readSegmentHeader(sab);
    expect(read).toEqual({
      ok: true,
      header: { version: SEGMENT_LAYOUT_VERSION, epoch, generation: 0xffff_fffe, slots: 3, slotBytes: 100, ringCapacity: 8 },
      layout,
    });
  });

  it('accepts a mapping larger than the layout (page rounding)', () => {
    const sab = new SharedArrayBuffer(layout.totalBytes + 4096);
    writeSegmentHeader(sab, layout, { epoch: 1, generation: 1 });
    expect(readSegmentHeader(sab).ok).toBe(true);
  });

  it('refuses to write into a buffer that is too small or with bad ids', () => {
    expect(() => {
      writeSegmentHeader(new SharedArrayBuffer(layout.totalBytes - 1), layout, { epoch: 0, generation: 0 });
    }).toThrow(/needs/);
    const sab = new SharedArrayBuffer(layout.totalBytes);
    expect(() => {
      writeSegmentHeader(sab, layout, { epoch: -1, generation: 0 });
    }).toThrow(RangeError);
    expect(() => {
      writeSegmentHeader(sab, layout, { epoch: 2 ** 53, generation: 0 });
    }).toThrow(RangeError);
    expect(() => {
      writeSegmentHeader(sab, layout, { epoch: 0, generation: 2 ** 32 });
    }).toThrow(RangeError);
  });

  function corrupted(word: number, value: number, byteLength = layout.totalBytes): SharedArrayBuffer {
    const sab = new SharedArrayBuffer(byteLength);
    writeSegmentHeader(sab, layout, { epoch: 7, generation: 3 });
    new Uint32Array(sab, 0, 16)[word] = value;
    return sab;
  }

  it.each([
    ['magic', 0, 0x12345678],
    ['version', 1, SEGMENT_LAYOUT_VERSION + 1],
    ['epoch', 3, 0xffff_ffff],
    ['params', 5, 0],
    ['params', 5, 0xffff_ffff],
    ['params', 6, 0x8000_0000],
    ['params', 7, 3],
    ['byte_length', 5, 4],
    ['byte_length', 6, 4096],
  ] as const)('reports %s when word %i is %i', (problem, word, value) => {
    const result = readSegmentHeader(corrupted(word, value));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toBe(problem);
      expect(result.detail.length).toBeGreaterThan(0);
    }
  });

  it('reports a buffer smaller than the header', () => {
    expect(readSegmentHeader(new SharedArrayBuffer(8))).toMatchObject({ ok: false, problem: 'too_small' });
  });

  it('never throws and never accepts a layout larger than the buffer, whatever the header words', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 0xffff_ffff }), { minLength: 16, maxLength: 16 }),
        fc.boolean(),
        fc.integer({ min: HEADER_BYTES, max: 1 << 16 }),
        (words, keepMagic, byteLength) => {
          const sab = new SharedArrayBuffer(byteLength);
          const view = new Uint32Array(sab, 0, 16);
          view.set(words);
          if (keepMagic) {
            view[0] = SEGMENT_MAGIC;
            view[1] = SEGMENT_LAYOUT_VERSION;
          }
          const result = readSegmentHeader(sab);
          if (result.ok) {
            expect(result.layout.totalBytes).toBeLessThanOrEqual(byteLength);
            expect(Number.isSafeInteger(result.header.epoch)).toBe(true);
          }
        },
      ),
    );
  });
});
