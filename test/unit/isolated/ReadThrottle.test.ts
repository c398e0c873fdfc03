import { describe, expect, it } from 'vitest';
import { ReadThrottle, type ReadLimits } from '../../../src/adapters/isolated/ReadThrottle.js';

/** 1 message per ms with a burst of 10; bytes out of the way; a flood after 50 ms throttled. */
const LIMITS: ReadLimits = { messagesPerSecond: 1_000, messageBurst: 10, bytesPerSecond: 1e9, byteBurst: 1e9, decodeShare: 1, decodeBurstMs: 1e9, floodMs: 50 };

function setup(limits: Partial<ReadLimits> = {}) {
  const clock = { ms: 0 };
  const throttle = new ReadThrottle({ ...LIMITS, ...limits }, () => clock.ms);
  const read = (messages: number): number | 'flood' => {
    for (let i = 0; i < messages; i++) throttle.message();
    return throttle.check();
  };
  return { clock, throttle, read };
}

describe('ReadThrottle', () => {
  it('reads at will within the burst, then asks for a pause until the bucket holds a resume batch again', () => {
    const { clock, read } = setup();
    expect(read(10)).toBe(0);
    // 3 in debt: the read is kept, the reader waits for 3 + the resume batch (capped at the burst: 10).
    expect(read(3)).toBe(13);
    clock.ms += 13;
    expect(read(0)).toBe(0);
  });

  it('lets an honest burst through: throttled runs shorter than floodMs never end in a flood', () => {
    const { clock, throttle, read } = setup();
    for (let round = 0; round < 4; round++) {
      const wait = read(12);
      expect(typeof wait === 'number' && wait > 0).toBe(true);
      clock.ms += 10;
      throttle.resumed();
    }
    // The burst is over: the child sends below the rate and the bucket refills.
    clock.ms += 1_000;
    expect(read(5)).toBe(0);
    // A later burst starts a new run of throttles; the old one is not held against it.
    expect(read(10)).toBeGreaterThan(0);
  });

  it('calls a child that keeps the reader throttled for floodMs in a row a flood', () => {
    const { clock, throttle, read } = setup();
    let verdict: number | 'flood' = read(20);
    let elapsed = 0;
    while (verdict !== 'flood' && elapsed < 1_000) {
      // Each resume finds the pipe full again at once.
      clock.ms += typeof verdict === 'number' ? verdict : 0;
      elapsed += typeof verdict === 'number' ? verdict : 0;
      throttle.resumed();
      verdict = read(20);
    }
    expect(verdict).toBe('flood');
    expect(elapsed).toBeGreaterThanOrEqual(50);
    expect(elapsed).toBeLessThan(100);
  });

  it('with floodMs 0, the first throttle is the flood (a hard budget of one burst)', () => {
    const { read } = setup({ floodMs: 0 });
    expect(read(10)).toBe(0);
    expect(read(1)).toBe('flood');
  });

  it('paces bytes as it paces messages', () => {
    const clock = { ms: 0 };
    const throttle = new ReadThrottle({ ...LIMITS, bytesPerSecond: 1_000_000, byteBurst: 100_000 }, () => clock.ms);
    throttle.read(100_000);
    expect(throttle.check()).toBe(0);
    throttle.read(1_000);
    // 1 000 bytes in debt + one 64 KiB read, at 1 000 bytes/ms: 66.5 ms, rounded up.
    expect(throttle.check()).toBe(67);
  });

  it('gives decoding a share of the host time: a child whose messages cost more waits, however long, and is no flood for it', () => {
    const clock = { ms: 0 };
    // A quarter of the time, 100 ms at once.
    const throttle = new ReadThrottle({ ...LIMITS, decodeShare: 0.25, decodeBurstMs: 100, floodMs: 1_000 }, () => clock.ms);
    throttle.decoded(100);
    expect(throttle.check()).toBe(0);
    // 200 ms later 50 ms of budget came back; 250 ms of decoding leaves 200 in debt, repaid
    // with 20 ms more to resume, at a quarter of the time.
    clock.ms += 200;
    throttle.decoded(250);
    expect(throttle.check()).toBe((200 + 20) / 0.25);
    // Throttled again and again, far past floodMs: paced, never a flood (decoding time is
    // wall time, which a collection or a loaded machine stretches).
    for (let i = 0; i < 20; i++) {
      clock.ms += 250;
      throttle.resumed();
      throttle.decoded(200);
      expect(throttle.check()).toBeGreaterThan(0);
    }
  });

  it('ends a run over the rates at a pause for decoding alone: bursts far apart are no flood', () => {
    const clock = { ms: 0 };
    const throttle = new ReadThrottle({ ...LIMITS, decodeShare: 0.25, decodeBurstMs: 100, floodMs: 1_000 }, () => clock.ms);
    for (let i = 0; i < 20; i++) throttle.message();
    expect(throttle.check()).toBeGreaterThan(0);
    // 5 s of pacing for decoding alone, each pause ending right before the next.
    for (let i = 0; i < 20; i++) {
      clock.ms += 250;
      throttle.resumed();
      throttle.decoded(200);
      expect(throttle.check()).toBeGreaterThan(0);
    }
    // A brief burst over the rates, 10 ms after a resume: a new episode, not 5 s of one.
    clock.ms += 10_000;
    throttle.decoded(0);
    throttle.resumed();
    clock.ms += 10;
    for (let i = 0; i < 30; i++) throttle.message();
    expect(throttle.check()).not.toBe('flood');
  });

  it('refuses a decode share outside (0, 1]', () => {
    expect(() => new ReadThrottle({ ...LIMITS, decodeShare: 0 })).toThrow(RangeError);
    expect(() => new ReadThrottle({ ...LIMITS, decodeShare: 1.5 })).toThrow(RangeError);
  });

  it('refuses a negative floodMs', () => {
    expect(() => new ReadThrottle({ ...LIMITS, floodMs: -1 })).toThrow(RangeError);
  });
});
