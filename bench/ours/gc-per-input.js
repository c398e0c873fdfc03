#!/usr/bin/env node
// @ts-check
/**
 * What the host's garbage collector costs per input, pipelined (64 in flight, the bench's own
 * clients): GC pause time per input (PerformanceObserver 'gc' entries) and bytes allocated per
 * input (V8's sampling heap profiler, objects a minor GC collected included), for frames and
 * messages. A diagnostic, not a benchmark with peers: GC is what a churned long-lived `Map`
 * once made expensive here (see src/transport/SeqMap.ts), and what to watch when the hot path
 * changes.
 *
 *   node bench/ours/gc-per-input.js [--mode embedded|isolated|inline] [--seconds 1.8]
 *
 * Each case: 0.5 s of warm-up, then three repetitions over `--seconds` timed (GC per input
 * and the rate, median of the three), then one more sampled for allocation.
 *
 * For the scavenges themselves (bytes promoted, pause per scavenge), run a case under
 * `node --trace-gc-nvp bench/ours/profile.js message-pipe 2`.
 */
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { createRuntime } from 'plugin-seam';
import { timePipelined } from '../lib/drive.js';
import { ConnectFeeder, PIPELINE_DEPTH, frameClient, messageClient, openSmall } from './clients.js';
import { exitQuietlyOnEpipe } from '../lib/stdout.js';

exitQuietlyOnEpipe();

const { values } = parseArgs({ options: { mode: { type: 'string', default: 'embedded' }, seconds: { type: 'string', default: '1.8' } } });
const mode = values.mode === 'inline' || values.mode === 'isolated' ? values.mode : 'embedded';
const durationMs = (Number(values.seconds) * 1000) / 3;

let gcMs = 0;
let gcs = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
    gcs += 1;
  }
});
observer.observe({ entryTypes: ['gc'] });

/** @param {{ selfSize: number, children: unknown[] }} node */
function totalBytes(node) {
  let bytes = node.selfSize;
  for (const child of node.children) bytes += totalBytes(/** @type {{ selfSize: number, children: unknown[] }} */ (child));
  return bytes;
}

const runtime = createRuntime();
try {
  const p = await openSmall(runtime, mode);
  const feeder = new ConnectFeeder(p);
  for (const kind of /** @type {const} */ (['frame', 'message'])) {
    const client = kind === 'frame' ? frameClient(p, feeder) : messageClient(p);
    const options = { inFlight: PIPELINE_DEPTH, warmupMs: 0, durationMs, reps: 1, timeoutMs: 60_000 };
    await timePipelined(client.call, { ...options, warmupMs: 500 });
    gcMs = 0;
    gcs = 0;
    const timed = await timePipelined(client.call, { ...options, reps: 3 });
    const ops = timed.reps.reduce((sum, rep) => sum + rep.ops, 0);
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: 2048, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
    const sampled = await timePipelined(client.call, options);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    const bytes = totalBytes(/** @type {{ selfSize: number, children: unknown[] }} */ (/** @type {unknown} */ (profile.head)));
    process.stdout.write(
      `${mode} ${kind}: ${Math.round(timed.opsPerSec)} /s; host GC ${((gcMs * 1000) / Math.max(ops, 1)).toFixed(2)} µs per input (${gcs} GCs); ` +
        `~${Math.round(bytes / Math.max(sampled.reps[0]?.ops ?? 0, 1))} B allocated per input\n`,
    );
  }
  feeder.close();
} finally {
  observer.disconnect();
  await runtime.shutdown();
}
