/**
 * The frame decoder reads a stream written by an untrusted child: every test below feeds it
 * bytes a hostile writer could send and checks that it delivers exactly the frames a simple
 * reference decoder finds, reports at most one violation, never throws and never holds more
 * than one frame.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FRAME_PREFIX_BYTES, FrameDecoder, type FrameViolation, type FrameViolationKind } from '../../../src/transport/FrameDecoder.js';

const MiB = 1024 * 1024;
/** Fixed seed: every run checks the same cases, and a failure replays as is. `FC_SEED=<n>` explores others. */
const seed = Number(process.env.FC_SEED ?? 0x5eed);

/** A decoder that records what it delivers and reports. */
function recorder(maxFrameBytes: number) {
  const frames: Uint8Array[] = [];
  const violations: FrameViolation[] = [];
  const decoder = new FrameDecoder({
    maxFrameBytes,
    onFrame: (payload) => frames.push(payload),
    onViolation: (violation) => violations.push(violation),
  });
  return { decoder, frames, violations };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Splits `bytes` at the given cut points (any integers; taken modulo the length, deduplicated). */
function chunk(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => (bytes.byteLength === 0 ? 0 : cut % (bytes.byteLength + 1))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.byteLength]) {
    if (point > from) chunks.push(bytes.slice(from, point));
    from = Math.max(from, point);
  }
  return chunks;
}

function prefix(length: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_PREFIX_BYTES);
  new DataView(bytes.buffer).setUint32(0, length, true);
  return bytes;
}

/**
 * The reference: decodes a whole byte string at once, the obvious way. What the streaming
 * decoder does on any chunking must match it.
 */
function referenceDecode(bytes: Uint8Array, maxFrameBytes: number): { frames: Uint8Array[]; violation: FrameViolationKind | undefined } {
  const frames: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos < bytes.byteLength) {
    if (bytes.byteLength - pos < 4) return { frames, violation: 'truncated' };
    const length = view.getUint32(pos, true);
    if (length > maxFrameBytes) return { frames, violation: 'frame_too_large' };
    if (length === 0) return { frames, violation: 'empty_frame' };
    if (bytes.byteLength - pos - 4 < length) return { frames, violation: 'truncated' };
    frames.push(bytes.slice(pos + 4, pos + 4 + length));
    pos += 4 + length;
  }
  return { frames, violation: undefined };
}

/** Feeds chunks, checking the memory bound and that nothing throws; then ends the stream. */
function feed(decoder: FrameDecoder, chunks: readonly Uint8Array[]): void {
  for (const c of chunks) {
    expect(() => {
      decoder.push(c);
    }).not.toThrow();
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(decoder.maxFrameBytes + FRAME_PREFIX_BYTES);
  }
  expect(() => {
    decoder.end();
  }).not.toThrow();
}

const payloads = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 });
const cuts = fc.array(fc.nat(), { maxLength: 40 });

describe('encodeFrame', () => {
  it('prepends the u32 little-endian length', () => {
    expect([...encodeFrame(new Uint8Array([9, 8, 7]))]).toEqual([3, 0, 0, 0, 9, 8, 7]);
    const big = encodeFrame(new Uint8Array(0x01_02_03));
    expect([...big.subarray(0, 4)]).toEqual([0x03, 0x02, 0x01, 0x00]);
  });

  it('refuses an empty payload and one above the limit', () => {
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeFrame(new Uint8Array(5), 4)).toThrow(RangeError);
    expect(encodeFrame(new Uint8Array(4), 4).byteLength).toBe(8);
  });
});

describe('FrameDecoder', () => {
  it('assembles a frame spanning chunks in the buffer allocate() gives, and fails on a wrong size', () => {
    const reused = new Uint8Array(8);
    const frames: Uint8Array[] = [];
    const violations: FrameViolation[] = [];
    const decoder = new FrameDecoder({
      maxFrameBytes: 64,
      allocate: (length) => (length === 8 ? reused : new Uint8Array(length + 1)),
      onFrame: (payload) => frames.push(payload),
      onViolation: (violation) => violations.push(violation),
    });
    const bytes = encodeFrame(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    decoder.push(bytes.subarray(0, 6));
    decoder.push(bytes.subarray(6));
    expect(frames).toEqual([Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])]);
    expect(frames[0]).toBe(reused);
    const odd = encodeFrame(Uint8Array.from([9, 9, 9]));
    decoder.push(odd.subarray(0, 5));
    expect(decoder.state).toBe('failed');
    expect(violations[0]?.detail).toBe('allocate(3) gave 4 bytes');
  });

  it('refuses a limit that is not an integer in [1, 2^32 - 1]', () => {
    for (const maxFrameBytes of [0, -1, 1.5, Number.NaN, 2 ** 32]) {
      expect(() => new FrameDecoder({ maxFrameBytes, onFrame: () => undefined })).toThrow(RangeError);
    }
  });

  it('round-trips any payloads over any chunking, and payloads stay valid after later pushes', () => {
    fc.assert(
      fc.property(payloads, cuts, (list, cutPoints) => {
        const stream = concat(list.map((p) => encodeFrame(p)));
        const { decoder, frames, violations } = recorder(300);
        feed(decoder, chunk(stream, cutPoints));
        // Compared only now, after every push: a view must not have been overwritten.
        expect(frames).toEqual(list);
        expect(violations).toEqual([]);
        expect(decoder.state).toBe('closed');
        expect(decoder.framesDelivered).toBe(list.length);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('decodes a stream fed one byte at a time (every split inside the prefix)', () => {
    const list = [new Uint8Array([1]), new Uint8Array(300).fill(7), new Uint8Array([2, 3])];
    const stream = concat(list.map((p) => encodeFrame(p)));
    const { decoder, frames, violations } = recorder(1024);
    feed(
      decoder,
      [...stream].map((byte) => new Uint8Array([byte])),
    );
    expect(frames).toEqual(list);
    expect(violations).toEqual([]);
  });

  it('accepts a frame of exactly maxFrameBytes and refuses one byte more from the prefix alone', () => {
    const ok = recorder(16);
    feed(ok.decoder, [encodeFrame(new Uint8Array(16).fill(1))]);
    expect(ok.frames).toHaveLength(1);
    expect(ok.violations).toEqual([]);

    const tooLarge = recorder(16);
    // Only the prefix is sent, split in two: the verdict needs nothing more.
    tooLarge.decoder.push(prefix(17).subarray(0, 3));
    expect(tooLarge.violations).toEqual([]);
    tooLarge.decoder.push(prefix(17).subarray(3));
    expect(tooLarge.violations).toEqual([expect.objectContaining({ violation: 'frame_too_large', offset: 0 })]);
    expect(tooLarge.violations[0]?.detail).toContain('17 bytes');
  });

  it('fails on a 2 GiB prefix without allocating it, and stays failed', () => {
    const before = process.memoryUsage();
    const { decoder, frames, violations } = recorder(16 * MiB);
    decoder.push(new Uint8Array([0x00, 0x00]));
    decoder.push(new Uint8Array([0x00, 0x80, 0xab])); // 0x80000000, then one payload byte
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ violation: 'frame_too_large', offset: 0 });
    expect(violations[0]?.detail).toContain(String(0x8000_0000));
    expect(decoder.state).toBe('failed');
    expect(decoder.bufferedBytes).toBe(0);

    // Sticky: valid frames afterwards are ignored, nothing more is reported, nothing throws.
    const junk = new Uint8Array(MiB).fill(0x41);
    for (let i = 0; i < 64; i++) decoder.push(junk);
    decoder.push(encodeFrame(new Uint8Array([1])));
    decoder.end();
    expect(frames).toEqual([]);
    expect(violations).toHaveLength(1);
    expect(decoder.bufferedBytes).toBe(0);

    const after = process.memoryUsage();
    // The junk MiB above is the only sizeable allocation; 2 GiB would show in both measures.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * MiB);
    expect(after.rss - before.rss).toBeLessThan(256 * MiB);
  });

  it.each([
    // D2 as E9 measured it: 300 MB with no terminator after a valid frame; "AAAA" reads as a 1 GB prefix.
    ['unterminated filler after a valid frame', 0x41],
    // A prefix that announces the whole 300 MB.
    ['a 300 MB prefix', -1],
  ])('caps a 300 MB stream at 16 MiB: %s', (_name, fill) => {
    const total = 300 * 1000 * 1000;
    const chunkBytes = 64 * 1024;
    const before = process.memoryUsage();
    const { decoder, frames, violations } = recorder(16 * MiB);
    decoder.push(encodeFrame(new Uint8Array([1, 2, 3])));
    let sent = 7;
    if (fill < 0) {
      decoder.push(prefix(total));
      sent += 4;
    }
    // One reused chunk: the test itself must not hold 300 MB to prove the decoder does not.
    const filler = new Uint8Array(chunkBytes).fill(fill < 0 ? 0 : fill);
    let maxBuffered = 0;
    while (sent < total) {
      decoder.push(filler);
      sent += chunkBytes;
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
    }
    decoder.end();
    expect(frames).toEqual([new Uint8Array([1, 2, 3])]);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ violation: 'frame_too_large', offset: 7 });
    expect(maxBuffered).toBe(0);
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * MiB);
    expect(after.rss - before.rss).toBeLessThan(256 * MiB);
  });

  it('holds at most one frame: a 16 MiB frame trickled in is assembled in one buffer of its size', () => {
    const { decoder, frames, violations } = recorder(16 * MiB);
    decoder.push(prefix(16 * MiB));
    const piece = new Uint8Array(MiB).fill(5);
    for (let i = 0; i < 16; i++) {
      decoder.push(piece);
      if (i < 15) expect(decoder.bufferedBytes).toBe(16 * MiB);
    }
    expect(violations).toEqual([]);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.byteLength).toBe(16 * MiB);
    expect(frames[0]?.[16 * MiB - 1]).toBe(5);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses a zero-length frame', () => {
    const { decoder, frames, violations } = recorder(64);
    feed(decoder, [concat([encodeFrame(new Uint8Array([1])), prefix(0), encodeFrame(new Uint8Array([2]))])]);
    expect(frames).toEqual([new Uint8Array([1])]);
    expect(violations).toEqual([expect.objectContaining({ violation: 'empty_frame', offset: 5 })]);
  });

  it.each([
    ['inside the prefix', concat([encodeFrame(new Uint8Array([1])), new Uint8Array([3, 0])]), 'prefix'],
    ['inside the payload', concat([encodeFrame(new Uint8Array([1])), prefix(10), new Uint8Array([1, 2])]), 'payload'],
  ])('reports a stream that ends %s as truncated', (_name, stream, where) => {
    const { decoder, frames, violations } = recorder(64);
    feed(decoder, [stream]);
    expect(frames).toEqual([new Uint8Array([1])]);
    expect(violations).toEqual([expect.objectContaining({ violation: 'truncated' })]);
    expect(violations[0]?.detail).toContain(where);
  });

  it('closes quietly when the stream ends on a frame boundary', () => {
    const { decoder, violations } = recorder(64);
    feed(decoder, [encodeFrame(new Uint8Array([1]))]);
    expect(violations).toEqual([]);
    expect(decoder.state).toBe('closed');
  });

  it('turns an exception of onFrame into one handler_threw violation, never into a throw', () => {
    const violations: FrameViolation[] = [];
    let calls = 0;
    const decoder = new FrameDecoder({
      maxFrameBytes: 64,
      onFrame: () => {
        calls += 1;
        throw new Error('consumer bug');
      },
      onViolation: (v) => violations.push(v),
    });
    const stream = concat([encodeFrame(new Uint8Array([1])), encodeFrame(new Uint8Array([2]))]);
    expect(() => {
      decoder.push(stream);
      decoder.push(stream);
    }).not.toThrow();
    expect(calls).toBe(1);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ violation: 'handler_threw', offset: 5 });
    expect(violations[0]?.cause).toBeInstanceOf(Error);
  });

  it('swallows an exception of onViolation and still reports once', () => {
    let reports = 0;
    const decoder = new FrameDecoder({
      maxFrameBytes: 4,
      onFrame: () => undefined,
      onViolation: () => {
        reports += 1;
        throw new Error('owner bug');
      },
    });
    expect(() => {
      decoder.push(prefix(5));
      decoder.push(prefix(5));
    }).not.toThrow();
    expect(reports).toBe(1);
    expect(decoder.violation?.violation).toBe('frame_too_large');
  });

  it('reports a chunk that is not a Uint8Array (a stream in string mode)', () => {
    const { decoder, violations } = recorder(64);
    expect(() => {
      decoder.push('AAAA' as unknown as Uint8Array);
    }).not.toThrow();
    expect(violations).toEqual([expect.objectContaining({ violation: 'invalid_chunk' })]);
  });

  it('stops at once when onFrame closes it, even inside a chunk', () => {
    const frames: number[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      maxFrameBytes: 64,
      onFrame: (payload) => {
        frames.push(payload[0] ?? -1);
        if (payload[0] === 2) decoder.close();
      },
    });
    decoder.push(concat([1, 2, 3, 4].map((n) => encodeFrame(new Uint8Array([n])))));
    decoder.push(encodeFrame(new Uint8Array([5])));
    expect(frames).toEqual([1, 2]);
    expect(decoder.state).toBe('closed');
    expect(decoder.violation).toBeUndefined();
  });

  it('queues a push made from inside onFrame and decodes it after the current chunk, in order', () => {
    const frames: number[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      maxFrameBytes: 64,
      onFrame: (payload) => {
        frames.push(payload[0] ?? -1);
        if (payload[0] === 1) decoder.push(encodeFrame(new Uint8Array([9])));
      },
    });
    decoder.push(concat([encodeFrame(new Uint8Array([1])), encodeFrame(new Uint8Array([2]))]));
    decoder.push(encodeFrame(new Uint8Array([3])));
    expect(frames).toEqual([1, 2, 9, 3]);
    expect(decoder.violation).toBeUndefined();
  });

  describe('byte-level mutation fuzz', () => {
    const flips = fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 8 });

    it('bit flips over valid encodings: never throws, matches the reference, at most one violation', () => {
      fc.assert(
        fc.property(payloads, flips, cuts, fc.integer({ min: 1, max: 400 }), (list, bitFlips, cutPoints, maxFrameBytes) => {
          const stream = concat(list.map((p) => encodeFrame(p)));
          for (const { at, bit } of bitFlips) {
            if (stream.byteLength === 0) continue;
            const index = at % stream.byteLength;
            stream[index] = (stream[index] ?? 0) ^ (1 << bit);
          }
          checkAgainstReference(stream, cutPoints, maxFrameBytes);
        }),
        { seed, numRuns: 500 },
      );
    });

    it('random bytes: never throws, matches the reference, at most one violation', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), cuts, fc.integer({ min: 1, max: 64 }), (stream, cutPoints, maxFrameBytes) => {
          checkAgainstReference(stream, cutPoints, maxFrameBytes);
        }),
        { seed, numRuns: 500 },
      );
    });

    function checkAgainstReference(stream: Uint8Array, cutPoints: readonly number[], maxFrameBytes: number): void {
      const expected = referenceDecode(stream, maxFrameBytes);
      const frameCountAtViolation: number[] = [];
      const frames: Uint8Array[] = [];
      const violations: FrameViolation[] = [];
      const decoder = new FrameDecoder({
        maxFrameBytes,
        onFrame: (payload) => frames.push(payload),
        onViolation: (v) => {
          violations.push(v);
          frameCountAtViolation.push(frames.length);
        },
      });
      feed(decoder, chunk(stream, cutPoints));
      // Either the frames and no violation, or the frames before it and exactly one violation.
      expect(frames).toEqual(expected.frames);
      expect(violations.map((v) => v.violation)).toEqual(expected.violation === undefined ? [] : [expected.violation]);
      if (violations.length === 1) expect(frameCountAtViolation).toEqual([frames.length]);
      for (const frame of frames) {
        expect(frame.byteLength).toBeGreaterThanOrEqual(1);
        expect(frame.byteLength).toBeLessThanOrEqual(maxFrameBytes);
      }
    }
  });
});
