// Which copy fills a shared slot: the addon's memmove from a KiB up when it has one,
// TypedArray#set otherwise — with the same bytes either way.
import { describe, expect, it, vi } from 'vitest';
import { loadShmBinding, type ShmBinding } from '../../../src/transport/shmBinding.js';
import { NATIVE_COPY_MAX_BYTES, NATIVE_COPY_MIN_BYTES, sharedCopy } from '../../../src/transport/sharedCopy.js';

function fakeBinding(copyBytes?: ShmBinding['copyBytes']): ShmBinding {
  // Only copyBytes is read; the rest must never be called here.
  const never = (): never => {
    throw new Error('not used by sharedCopy');
  };
  return {
    createSegment: never,
    mapSegment: never,
    closeFd: never,
    setParentDeathSignal: never,
    seals: never,
    constants: { F_SEAL_SEAL: 0, F_SEAL_SHRINK: 0, F_SEAL_GROW: 0, F_SEAL_WRITE: 0, MAX_SEGMENT_BYTES: 0, PAGE_SIZE: 4096 },
    ...(copyBytes === undefined ? {} : { copyBytes }),
  };
}

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 255);
}

describe('sharedCopy', () => {
  it('hands frames of NATIVE_COPY_MIN_BYTES and more to the addon, smaller ones to TypedArray#set', () => {
    const native = vi.fn((target: Uint8Array, source: Uint8Array) => {
      target.set(source);
    });
    const copy = sharedCopy(fakeBinding(native));
    const small = bytes(NATIVE_COPY_MIN_BYTES - 1, 1);
    const smallTarget = new Uint8Array(new SharedArrayBuffer(small.length));
    copy(smallTarget, small);
    expect(native).not.toHaveBeenCalled();
    expect(Array.from(smallTarget)).toEqual(Array.from(small));
    const large = bytes(NATIVE_COPY_MIN_BYTES, 2);
    const largeTarget = new Uint8Array(new SharedArrayBuffer(large.length));
    copy(largeTarget, large);
    expect(native).toHaveBeenCalledTimes(1);
    expect(native).toHaveBeenCalledWith(largeTarget, large);
    expect(Array.from(largeTarget)).toEqual(Array.from(large));
  });

  it('hands frames of NATIVE_COPY_MAX_BYTES and more back to TypedArray#set', () => {
    const native = vi.fn((target: Uint8Array, source: Uint8Array) => {
      target.set(source);
    });
    const copy = sharedCopy(fakeBinding(native));
    const below = bytes(NATIVE_COPY_MAX_BYTES - 1, 4);
    copy(new Uint8Array(new SharedArrayBuffer(below.length)), below);
    expect(native).toHaveBeenCalledTimes(1);
    const large = bytes(NATIVE_COPY_MAX_BYTES, 5);
    const target = new Uint8Array(new SharedArrayBuffer(large.length));
    copy(target, large);
    expect(native).toHaveBeenCalledTimes(1);
    expect(target[large.length - 1]).toBe(large[large.length - 1]);
    expect(Buffer.compare(Buffer.from(target.buffer), Buffer.from(large))).toBe(0);
  });

  it('copies with TypedArray#set when there is no addon or it has no copyBytes', () => {
    for (const copy of [sharedCopy(undefined), sharedCopy(fakeBinding())]) {
      const source = bytes(4 * NATIVE_COPY_MIN_BYTES, 3);
      const target = new Uint8Array(new SharedArrayBuffer(source.length));
      copy(target, source);
      expect(Array.from(target)).toEqual(Array.from(source));
    }
  });

  it.skipIf(loadShmBinding()?.copyBytes === undefined)('copies with the real addon: every byte, around the threshold', () => {
    const copy = sharedCopy();
    for (const length of [1, NATIVE_COPY_MIN_BYTES - 1, NATIVE_COPY_MIN_BYTES, 3 * NATIVE_COPY_MIN_BYTES + 5]) {
      const source = bytes(length, length);
      const target = new Uint8Array(new SharedArrayBuffer(length + 8), 8);
      copy(target, source);
      expect(Array.from(target)).toEqual(Array.from(source));
    }
  });
});
