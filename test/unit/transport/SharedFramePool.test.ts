// The frame pool's quarantine: slots a dead generation held come back once that generation
// can no longer touch memory, whichever comes first — the adapter's reclaim (the worker or
// child exited) or the runtime's discard (it settled the frame as lost).
import { describe, expect, it } from 'vitest';
import { SharedFramePool } from '../../../src/transport/SharedFramePool.js';

function pool(slots = 2): SharedFramePool {
  return new SharedFramePool({ slots, slotBytes: 64, poisonReleased: false });
}

describe('SharedFramePool quarantine', () => {
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
