import { describe, expect, it } from 'vitest';
import { POISON_BYTE, SlotPool } from '../../../src/transport/SlotPool.js';
import { computeSegmentLayout } from '../../../src/transport/segmentLayout.js';

function setup(options: { poisonReleased?: boolean } = {}) {
  const layout = computeSegmentLayout({ slots: 3, slotBytes: 100, ringCapacity: 4 });
  const sab = new SharedArrayBuffer(layout.totalBytes);
  return { layout, sab, pool: new SlotPool(sab, layout, options) };
}

describe('SlotPool', () => {
  it('hands out every slot once, then nothing, and reuses released slots first-in first-out', () => {
    const { pool } = setup();
    expect(pool.capacity).toBe(3);
    expect(pool.inUse).toBe(0);
    const taken = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(new Set(taken)).toEqual(new Set([0, 1, 2]));
    expect(pool.inUse).toBe(3);
    expect(pool.acquire()).toBeUndefined();
    pool.release(2);
    pool.release(0);
    expect(pool.inUse).toBe(1);
    expect(pool.isInUse(1)).toBe(true);
    expect(pool.isInUse(2)).toBe(false);
    expect(pool.acquire()).toBe(2);
    expect(pool.acquire()).toBe(0);
    expect(pool.acquire()).toBeUndefined();
  });

  it('views exactly the named bytes of a slot, 64-byte aligned, inside the slot region', () => {
    const { pool, layout, sab } = setup();
    const slot = pool.acquire()!;
    const view = pool.view(slot, 100);
    expect(view.buffer).toBe(sab);
    expect(view.byteOffset).toBe(layout.slotsOffset + slot * layout.slotStride);
    expect(view.byteOffset % 64).toBe(0);
    expect(view.byteLength).toBe(100);
    expect(pool.view(slot, 0).byteLength).toBe(0);
    view.fill(7);
    expect(new Uint8Array(sab, view.byteOffset + 100, 1)[0]).toBe(0);
  });

  it('refuses out-of-range views and views of free slots', () => {
    const { pool } = setup();
    const slot = pool.acquire()!;
    expect(() => pool.view(slot, 101)).toThrow(RangeError);
    expect(() => pool.view(slot, -1)).toThrow(RangeError);
    expect(() => pool.view(slot, 1.5)).toThrow(RangeError);
    expect(() => pool.view(3, 1)).toThrow(RangeError);
    expect(() => pool.view(-1, 1)).toThrow(RangeError);
    expect(() => pool.view(slot + 1, 1)).toThrow(/not in use/);
  });

  it('throws a clear error on a double release or a foreign index', () => {
    const { pool } = setup();
    const slot = pool.acquire()!;
    pool.release(slot);
    expect(() => {
      pool.release(slot);
    }).toThrow(/not in use \(double release\?\)/);
    expect(() => {
      pool.release(3);
    }).toThrow(RangeError);
    expect(() => {
      pool.release(Number.NaN);
    }).toThrow(/not a slot index/);
    expect(() => {
      pool.release(0xffff_ffff);
    }).toThrow(RangeError);
    expect(pool.inUse).toBe(0);
    expect(pool.isInUse(0xffff_ffff)).toBe(false);
    expect(pool.isInUse(Number.NaN)).toBe(false);
  });

  it('poisons a released slot, whole stride, and leaves its neighbours alone', () => {
    const { pool, layout, sab } = setup({ poisonReleased: true });
    const a = pool.acquire()!;
    const b = pool.acquire()!;
    pool.view(a, 100).fill(1);
    pool.view(b, 100).fill(2);
    const kept = pool.view(a, 100); // a plugin keeping a raw reference
    pool.release(a);
    expect(kept.every((byte) => byte === POISON_BYTE)).toBe(true);
    const stride = new Uint8Array(sab, layout.slotsOffset + a * layout.slotStride, layout.slotStride);
    expect(stride.every((byte) => byte === POISON_BYTE)).toBe(true);
    expect(pool.view(b, 100).every((byte) => byte === 2)).toBe(true);
  });

  it('leaves released bytes alone without poisonReleased', () => {
    const { pool } = setup();
    const a = pool.acquire()!;
    const kept = pool.view(a, 10);
    kept.fill(1);
    pool.release(a);
    expect(kept.every((byte) => byte === 1)).toBe(true);
  });

  it('refuses a layout that does not fit the buffer', () => {
    const { layout } = setup();
    expect(() => new SlotPool(new SharedArrayBuffer(layout.totalBytes - 1), layout)).toThrow(RangeError);
  });
});
