// The ring encoding of small values (protocol.ts): what it takes comes back exactly, what it
// cannot carry exactly it refuses (the value then travels by message, cloned), and a peer's
// bytes decode to a string whatever they are.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INVALID_RING_VALUE, RING_VALUE_TAGS, decodeRingValue, encodeRingValue } from '../../../src/adapters/protocol.js';
import type { RingValue } from '../../../src/adapters/protocol.js';
import { RING_PAYLOAD_BYTES } from '../../../src/transport/segmentLayout.js';

function roundTrip(value: unknown): { readonly encoded: boolean; readonly decoded?: unknown } {
  const area = Buffer.alloc(RING_PAYLOAD_BYTES);
  const out: RingValue = { tag: -1, number: -1, length: -1 };
  if (!encodeRingValue(value, area, out)) return { encoded: false };
  expect(out.tag).toBeGreaterThanOrEqual(0);
  expect(out.tag).toBeLessThan(RING_VALUE_TAGS);
  expect(out.length).toBeLessThanOrEqual(RING_PAYLOAD_BYTES);
  // The reader gets a copy of just `length` bytes.
  const copy = Buffer.from(area.subarray(0, out.length));
  return { encoded: true, decoded: decodeRingValue(out.tag, out.number, copy, out.length) };
}

describe('ring values', () => {
  it('carries undefined, null, booleans, every number and short well-formed strings exactly', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(undefined, null, true, false, 0, -0, Number.NaN, Infinity, -Infinity), fc.double(), fc.string({ unit: 'grapheme', maxLength: 60 })),
        (value) => {
          const { encoded, decoded } = roundTrip(value);
          expect(encoded).toBe(true);
          expect(Object.is(decoded, value)).toBe(true);
        },
      ),
    );
  });

  it('refuses what it cannot carry exactly: objects, bigints, symbols, functions, long or ill-formed strings', () => {
    for (const value of [{}, [], new Uint8Array(1), 1n, Symbol('s'), () => 1, 'x'.repeat(RING_PAYLOAD_BYTES + 1), 'é'.repeat(RING_PAYLOAD_BYTES / 2 + 1), 'a\ud800b', '\udc00']) {
      expect(roundTrip(value).encoded, String(typeof value === 'string' ? value.length : typeof value)).toBe(false);
    }
    // At the limit, in UTF-8 bytes.
    expect(roundTrip('x'.repeat(RING_PAYLOAD_BYTES))).toEqual({ encoded: true, decoded: 'x'.repeat(RING_PAYLOAD_BYTES) });
    expect(roundTrip('é'.repeat(RING_PAYLOAD_BYTES / 2))).toEqual({ encoded: true, decoded: 'é'.repeat(RING_PAYLOAD_BYTES / 2) });
    // A last character that does not fit whole: refused, not cut.
    expect(roundTrip(`${'x'.repeat(RING_PAYLOAD_BYTES - 1)}é`).encoded).toBe(false);
    expect(roundTrip(`${'x'.repeat(RING_PAYLOAD_BYTES - 3)}😀`).encoded).toBe(false);
    expect(roundTrip(`${'x'.repeat(RING_PAYLOAD_BYTES - 4)}😀`)).toEqual({ encoded: true, decoded: `${'x'.repeat(RING_PAYLOAD_BYTES - 4)}😀` });
  });

  it('decodes any bytes of a peer as a string, and names an unknown tag invalid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: RING_PAYLOAD_BYTES }), (bytes) => {
        const decoded = decodeRingValue(5 /* a string */, 0, Buffer.from(bytes), bytes.length);
        expect(typeof decoded).toBe('string');
      }),
    );
    for (const tag of [RING_VALUE_TAGS, 99, 0xffff_ffff]) expect(decodeRingValue(tag, 0, Buffer.alloc(0), 0)).toBe(INVALID_RING_VALUE);
  });
});
