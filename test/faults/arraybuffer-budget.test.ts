// RELIABILITY B10: Buffer memory is not bounded by worker resourceLimits (E3) nor by
// --max-old-space-size, so the host samples the guest's ArrayBuffer memory with each
// heartbeat (shared control words; on the isolated copy transport, the heartbeat message)
// and ends a generation over limits.maxArrayBufferMb as lost/oom — before it takes the host
// down. Run with PLUGIN_SEAM_NO_ADDON=1 (npm run test:no-addon) for the copy transport.
import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { createRuntime, LostWhileRunning } from 'plugin-seam';
import type { FrameOutcome } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { fixture } from '../conformance/harness.js';

describe.each(['embedded', 'isolated'] as const)('%s: ArrayBuffer memory budget', (mode) => {
  it.each(['buffer', 'shared'] as const)('ends a generation that holds more memory than allowed (%s), as lost/oom, and restarts it', async (kind) => {
    // Real clock: the sampling runs with the heartbeat (every heartbeat / 5), in real time. The
    // heartbeat is long enough that a worker slowed by a loaded machine is never mistaken for
    // an unresponsive one: the verdict must be oom.
    const runtime = createRuntime();
    try {
      const p = runtime.load({
        id: 'buffers',
        module: fixture('buffers'),
        mode,
        limits: { maxHeapMb: 64, maxArrayBufferMb: 64 },
        timeouts: { heartbeat: 3_000 },
        restart: { backoff: { initialMs: 10, jitter: 0 } },
      });
      await p.start();
      await p.run();
      const held = p.send({ op: 'hold', mb: 160, kind }).catch((e: unknown) => e);
      const failed = await waitForStatus(p, (s) => s.lastFailure !== undefined, 10_000);
      expect(failed.lastFailure).toMatchObject({ class: 'lost', cause: 'oom', generation: 1 });
      expect(failed.lastFailure?.detail).toMatch(/above limits\.maxArrayBufferMb \(64\)/);
      const error = await held;
      expect(error).toBeInstanceOf(LostWhileRunning);
      expect(error).toMatchObject({ failureCause: 'oom' });
      await waitForStatus(p, (s) => s.state === 'running' && s.generation === 2, 8_000);
      const c = p.status.counters;
      expect(c.accepted).toBe(c.done + c.failed + c.dropped + c.lost + c.queued + c.inFlight);
      expect(c.inFlight).toBe(0);
    } finally {
      await runtime.shutdown();
    }
  });

  // The frames the runtime hands the plugin as copies (no free shared slot; on the copy
  // transport, every frame) are the runtime's memory while in flight, and isolated their
  // buffers are reused once settled: a plugin keeping nothing stays within
  // a limit below what its frames in flight take (24 frames of 16 MiB, 6 at a time, 48 MiB).
  // Embedded, a copy is cloned into the worker's own memory and counts once settled until the
  // worker's garbage collector frees it (documented with limits.maxArrayBufferMb).
  it.skipIf(mode === 'embedded')('does not count the frames in flight to the plugin as its memory', async () => {
    const runtime = createRuntime();
    try {
      const MIB = 1024 * 1024;
      const p = runtime.load({
        id: 'frames',
        module: fixture('behaviour'),
        mode,
        frames: { slots: 1, queue: 8, maxFrameBytes: 16 * MIB, overflow: 'block' },
        limits: { maxArrayBufferMb: 48 },
        timeouts: { heartbeat: 2_000 },
        restart: { policy: 'never' },
      });
      await p.start();
      await p.run();
      const frames = Array.from({ length: 24 }, (_, i) => ({ width: 4096, height: 4096, format: 'gray', timestamp: i, data: new Uint8Array(16 * MIB).fill(i) }));
      const outcomes: FrameOutcome[] = [];
      // Six at a time (96 MiB offered), within frames.maxQueuedBytes.
      for (let i = 0; i < frames.length; i += 6) outcomes.push(...(await lastValueFrom(p.connect(from(frames.slice(i, i + 6))).pipe(toArray()))));
      expect(outcomes.map((o) => (o.kind === 'done' ? 'done' : `${o.kind} ${'reason' in o ? o.reason : ''}`))).toEqual(frames.map(() => 'done'));
      expect(p.status.lastFailure).toBeUndefined();
    } finally {
      await runtime.shutdown();
    }
  });
});
