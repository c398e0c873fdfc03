// The host's drain of the complete ring is bounded per turn of its event loop. The guest
// here is a worker thread refilling the complete ring with well-formed outcomes for inputs
// never sent, every time the host hands entries back: a peer that always keeps up, which an
// unbounded drain would follow for as long as it keeps going. Real rings over a real
// SharedArrayBuffer, a real thread; no plugin.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { GenerationSink } from '../../../src/adapters/Adapter.js';
import { HostDataPlane } from '../../../src/adapters/HostDataPlane.js';
import { CONTROL_BYTES } from '../../../src/adapters/protocol.js';
import { SharedFramePool } from '../../../src/transport/SharedFramePool.js';
import { computeSegmentLayout } from '../../../src/transport/segmentLayout.js';

const CAPACITY = 16;
/** Outcomes the flooder pushes in all: far past any bound, short of a hung test. */
const FLOOD = 2_000_000;

/** A second thread producing on the complete ring (the words of src/transport/DescriptorRing). */
const FLOODER = `
const { workerData } = require('node:worker_threads');
const { buffer, ring, total, go } = workerData;
const u32 = new Uint32Array(buffer);
const start = new Int32Array(go);
Atomics.wait(start, 0, 0);
const head = ring.headOffset / 4, tail = ring.tailOffset / 4, base = ring.descriptorsOffset / 4;
let pushed = 0;
while (pushed < total) {
  const t = Atomics.load(u32, tail);
  const free = Math.min(ring.capacity - ((t - Atomics.load(u32, head)) >>> 0), total - pushed);
  for (let k = 0; k < free; k++) {
    const at = base + ((t + k) & (ring.capacity - 1)) * 16;
    for (let w = 0; w < 16; w++) u32[at + w] = 0;
    u32[at + 2] = 1000000 + pushed + k; // seq: an input never sent
    u32[at + 4] = 1; // generation
  }
  if (free > 0) Atomics.store(u32, tail, (t + free) >>> 0);
  pushed += free;
}
`;

describe('HostDataPlane', () => {
  it('lets its event loop turn while another thread refills the complete ring as fast as it drains', async () => {
    const layout = computeSegmentLayout({ slots: 4, slotBytes: 64, ringCapacity: CAPACITY });
    const buffer = new SharedArrayBuffer(layout.totalBytes + CONTROL_BYTES);
    const control = new Int32Array(buffer, layout.totalBytes, CONTROL_BYTES / 4);
    const pool = new SharedFramePool({ slots: 4, slotBytes: 64, poisonReleased: false });
    let stale = 0;
    let staleWhenTurned: number | undefined;
    let turnedNow: () => void = () => undefined;
    const turned = new Promise<void>((resolve) => {
      turnedNow = resolve;
    });
    const noop = (): void => undefined;
    const sink: GenerationSink = {
      output: noop,
      log: noop,
      heartbeat: noop,
      lost: noop,
      lingering: noop,
      stale: () => {
        stale += 1;
        if (stale === 1) {
          // From inside the drain: the first turn the event loop gets from now on.
          setImmediate(() => {
            staleWhenTurned = stale;
            turnedNow();
          });
        }
      },
    };
    const plane = new HostDataPlane({
      generation: 1,
      pool,
      rings: { buffer, layout },
      control,
      post: noop,
      sink,
      inputBudgetMs: undefined,
      maxArrayBufferMb: undefined,
      onOverLimit: noop,
      onViolation: (detail) => {
        throw new Error(`unexpected violation: ${detail}`);
      },
    });
    const go = new SharedArrayBuffer(4);
    const flooder = new Worker(FLOODER, { eval: true, workerData: { buffer, ring: layout.complete, total: FLOOD, go } });
    try {
      await new Promise<void>((resolve, reject) => {
        flooder.once('online', resolve);
        flooder.once('error', reject);
      });
      Atomics.store(new Int32Array(go), 0, 1);
      Atomics.notify(new Int32Array(go), 0);
      // The flooder does not ring: the host's own wait is ended here, once.
      const started = setInterval(() => {
        if (stale === 0) plane.wake();
      }, 1);
      await turned;
      clearInterval(started);
    } finally {
      plane.close();
      await flooder.terminate();
      pool.close(new Error('done'));
    }
    // The event loop turned after a ring's worth or so, not once the flood was over.
    expect(staleWhenTurned).toBeDefined();
    expect(staleWhenTurned).toBeLessThanOrEqual(4 * CAPACITY);
  });
});
