// HeapFramePool's pin: a buffer a writer still reads by reference (the isolated pipe writing a
// frame's copy as it is) is not recycled — nor poisoned — until the write is done, even when
// its frame was settled (and the buffer released) first, as a hostile child can arrange.
import { describe, expect, it } from 'vitest';
import { HeapFramePool } from '../../../src/transport/HeapFramePool.js';

describe('HeapFramePool', () => {
  it('keeps a pinned buffer out of reuse until unpinned, then releases it', () => {
    const pool = new HeapFramePool({ capacity: 1, poisonReleased: true });
    const first = pool.take(8);
    first.fill(7);
    pool.pin(first);
    pool.release(first);
    // Still being written: neither poisoned nor handed out again.
    expect([...first]).toEqual([7, 7, 7, 7, 7, 7, 7, 7]);
    const other = pool.take(8);
    expect(other.buffer).not.toBe(first.buffer);
    expect(pool.holds(first)).toBe(true);
    pool.unpin(first);
    expect(pool.holds(first)).toBe(false);
    expect([...first]).toEqual(Array.from({ length: 8 }, () => 0xde));
    expect(pool.take(8).buffer).toBe(first.buffer);
  });

  it('unpins a buffer never released without releasing it', () => {
    const pool = new HeapFramePool({ capacity: 1, poisonReleased: false });
    const view = pool.take(4);
    pool.pin(view);
    pool.unpin(view);
    expect(pool.holds(view)).toBe(true);
    expect(pool.inUse).toBe(1);
  });
});
