// The frame pool's quarantine: slots a dead generation held come back once that generation
// can no longer touch memory, whichever comes first — the adapter's reclaim (the worker or
// child exited) or the runtime's discard (it settled the frame as lost). And how it knows
// its views, reuses them, and moves a waiting copy into a slot.
import { describe, expect, it, vi } from 'vitest';
import { SharedFramePool } from '../../../src/transport/SharedFramePool.js';

function pool(slots = 2): SharedFramePool {
  return new SharedFramePool({ slots, slotBytes: 64, poisonReleased: false });
}

describe('SharedFramePool', () => {
  it('keeps a discarded slot until its generation is reclaimed', () => {
    const p = pool(1);
    const view = p.take(16);
    expect(p.inUse).toBe(1);
    p.discard(view, 1);
    expect(p.inUse).toBe(1);
    p.reclaim(2);
    expect(p.inUse).toBe(1);
    p.reclaim(1);
    expect(p.inUse).toBe(0);
  });

  it('releases at once a slot discarded after its generation was reclaimed (a worker that exited by itself)', async () => {
    const p = pool(1);
    const view = p.take(16);
    p.reclaim(1);
    p.discard(view, 1);
    expect(p.inUse).toBe(0);
    const again = await p.acquire(16, AbortSignal.timeout(1_000));
    expect(again.byteLength).toBe(16);
  });

  it('still quarantines for a later generation after earlier ones were reclaimed out of order', () => {
    const p = pool(2);
    const a = p.take(16);
    const b = p.take(16);
    p.reclaim(3);
    p.discard(a, 2);
    expect(p.inUse).toBe(2);
    p.discard(b, 3);
    expect(p.inUse).toBe(1);
    p.reclaim(1);
    p.reclaim(2);
    expect(p.inUse).toBe(0);
  });
});

describe('SharedFramePool.slotOf', () => {
  it('knows the views it lent, and checks any other view of a slot in full', () => {
    const p = pool(3);
    const { slotStride } = p.layout;
    const first = p.take(16);
    const second = p.take(64);
    expect(p.slotOf(first)).toBe(0);
    expect(p.slotOf(second)).toBe(1);
    // The application's own views of a slot it holds: same memory, another object.
    expect(p.slotOf(new Uint8Array(p.buffer, slotStride, 8))).toBe(1);
    expect(p.slotOf(new Uint8Array(p.buffer, 0, 64))).toBe(0);
    // Not a slot start, longer than a slot, a slot nobody holds, another buffer at the same offset.
    expect(p.slotOf(new Uint8Array(p.buffer, 1, 8))).toBeUndefined();
    expect(p.slotOf(new Uint8Array(p.buffer, 0, slotStride + 1))).toBeUndefined();
    expect(p.slotOf(new Uint8Array(p.buffer, 2 * slotStride, 8))).toBeUndefined();
    expect(p.slotOf(new Uint8Array(new SharedArrayBuffer(p.buffer.byteLength), slotStride, 8))).toBeUndefined();
    expect(p.slotOf(new Uint8Array(64))).toBeUndefined();
    // Released: its lent view no longer names a slot; lent again, the new view does.
    p.release(first);
    expect(p.slotOf(first)).toBeUndefined();
    const third = p.take(32);
    expect(p.slotOf(third)).toBe(2);
    expect(p.slotOf(first)).toBeUndefined();
  });

  it('moves a waiting copy into a free slot, with its bytes; never a slot, an oversized view, or with none free', () => {
    const p = pool(2);
    const held = p.take(16);
    const copy = Uint8Array.from({ length: 24 }, (_, i) => i + 1);
    const moved = p.moveIntoPool(copy);
    expect(moved).toBeDefined();
    expect(moved === undefined ? undefined : p.slotOf(moved)).toBe(1);
    expect([...(moved ?? [])]).toEqual([...copy]);
    expect(p.inUse).toBe(2);
    // A slot already, or nothing free: nothing to do.
    expect(p.moveIntoPool(held)).toBeUndefined();
    expect(p.moveIntoPool(new Uint8Array(8))).toBeUndefined();
    p.release(held);
    // Larger than a slot, or empty: stays a copy.
    expect(p.moveIntoPool(new Uint8Array(65))).toBeUndefined();
    expect(p.moveIntoPool(new Uint8Array(0))).toBeUndefined();
    expect(p.inUse).toBe(1);
    // Closed: the instance is gone, nothing is handed over any more.
    p.close(new Error('closed'));
    expect(p.moveIntoPool(new Uint8Array(8))).toBeUndefined();
  });

  it('hands a slot its last view again for a frame of the same size, a new one for another size', () => {
    const p = pool(1);
    const first = p.take(16);
    p.release(first);
    const again = p.take(16);
    expect(again).toBe(first);
    p.release(again);
    const other = p.take(32);
    expect(other).not.toBe(first);
    expect(other.length).toBe(32);
    expect(p.slotOf(other)).toBe(0);
  });

  it('copies a frame into a free slot with its copy function, and onto the heap when none is free or it does not fit', () => {
    const copy = vi.fn((target: Uint8Array, source: Uint8Array) => {
      target.set(source);
    });
    const p = new SharedFramePool({ slots: 1, slotBytes: 64, poisonReleased: false, copy });
    const source = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
    const inSlot = p.copyIn(source);
    expect(p.slotOf(inSlot)).toBe(0);
    expect(copy).toHaveBeenCalledTimes(1);
    expect(Array.from(inSlot)).toEqual(Array.from(source));
    // Every slot busy: a heap copy, not through the slot copy.
    const overflow = p.copyIn(source);
    expect(overflow.buffer).not.toBe(p.buffer);
    expect(Array.from(overflow)).toEqual(Array.from(source));
    p.release(inSlot);
    const tooLarge = p.copyIn(new Uint8Array(65).fill(9));
    expect(tooLarge.buffer).not.toBe(p.buffer);
    expect(tooLarge.length).toBe(65);
    expect(p.inUse).toBe(0);
    expect(copy).toHaveBeenCalledTimes(1);
    // moveIntoPool fills its slot the same way.
    const moved = p.moveIntoPool(overflow);
    expect(moved === undefined ? undefined : p.slotOf(moved)).toBe(0);
    expect(copy).toHaveBeenCalledTimes(2);
    expect(Array.from(moved ?? [])).toEqual(Array.from(source));
  });
});
