// A plugin near `limits.maxHeapMb` misses heartbeats for its heap's sake: V8 collects again
// and again before it gives up, each collection holding the plugin's thread (a worker leaking
// small objects under 128–256 MiB went 0.15–0.3 s without a beat before its out-of-memory
// end). With a shorter deadline that ended it `unresponsive`, a hang that was never there. The
// guest reports its heap with every beat (shared control word; on the isolated copy transport,
// the heartbeat message), and a deadline missed after a beat at 90 % of the limit or more is
// `oom`. The fixture holds its thread near the limit instead of leaking, so the verdict does
// not depend on how long this machine's collections take. Run with PLUGIN_SEAM_NO_ADDON=1
// (npm run test:no-addon) for the copy transport.
import { describe, expect, it } from 'vitest';
import { createRuntime, LostWhileRunning } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { fixture } from '../conformance/harness.js';

const LIMIT_MB = 256;

describe.each(['embedded', 'isolated'] as const)('%s: heartbeats missed near the heap limit', (mode) => {
  it.each([
    { mb: 235, cause: 'oom', detail: /^no heartbeat within 300 ms, its JavaScript heap at 9\d % of limits\.maxHeapMb at the last one/ },
    { mb: 80, cause: 'unresponsive', detail: /^no heartbeat within 300 ms$/ },
  ] as const)('a plugin holding its thread with $mb MiB of its heap in use (limit 256) is lost/$cause', async ({ mb, cause, detail }) => {
    const runtime = createRuntime();
    try {
      const p = runtime.load({
        id: 'near-heap-limit',
        module: fixture('faults'),
        mode,
        limits: { maxHeapMb: LIMIT_MB },
        // Beats every 60 ms: the 400 ms the fixture waits with its heap in use carry several.
        timeouts: { heartbeat: 300 },
        restart: { policy: 'never' },
      });
      await p.start();
      await p.run();
      const reply = p.send({ op: 'near-heap-limit', mb, reportMs: 400, ms: 3_000 }).catch((error: unknown) => error);
      const failed = await waitForStatus(p, (s) => s.lastFailure !== undefined, 15_000);
      expect(failed.lastFailure).toMatchObject({ class: 'lost', cause, generation: 1 });
      expect(failed.lastFailure?.detail).toMatch(detail);
      const error = await reply;
      expect(error).toBeInstanceOf(LostWhileRunning);
      expect(error).toMatchObject({ failureCause: cause });
    } finally {
      await runtime.shutdown();
    }
  });
});
