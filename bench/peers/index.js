// @ts-check
/**
 * Peer baselines: public API.
 *
 *   measureRoundTrip(peer, opts)    -> { p50Us, p99Us, meanUs, trips, reps[] }
 *   measurePipelined(peer, opts)    -> { opsPerSec, inFlight, reps[] }
 *   measureFrames(case, bytes, opts)-> { status, framesPerSec, mbPerSec, reps[] }
 *   runPeers(opts)                  -> PlacementResult (everything, this process)
 *
 * `peer` is either a peer name from PEERS (opened and closed for you) or any
 * object with `{ call(seq): Promise, close() }` (a PeerClient, e.g. one of
 * our adapters wrapped) which is used as-is and NOT closed. `measureFrames`
 * likewise accepts a FRAME_CASES name or a FrameSink `{ send(seq), close }`.
 * All timing goes through bench/lib/drive.js and bench/lib/stats.js, so
 * numbers produced for our adapters are directly comparable.
 */
import os from 'node:os';
import process from 'node:process';
import { readFileSync } from 'node:fs';
import { BenchTimeoutError, settle, timePipelined, timeRoundTrips } from '../lib/drive.js';
import { median, nowUs } from '../lib/stats.js';
import { FRAME_CASES, PEERS, makeFrame, openFrameSink, openPeer } from './clients.js';

export { FRAME_CASES, PEERS, PAYLOAD, makeFrame, openFrameSink, openPeer } from './clients.js';
export * from '../lib/drive.js';
export * from '../lib/stats.js';

/** Frame sizes of the hand-off benchmark, bytes. */
export const FRAME_SIZES = /** @type {const} */ ({
  '1KB': 1024,
  '1080p': 1920 * 1080 * 4,
  '4K': 3840 * 2160 * 4,
});
/** @typedef {keyof typeof FRAME_SIZES} FrameSizeName */

/** Things this suite deliberately does not measure. */
export const NOTES = [
  'SAB Atomics ping-pong between two processes needs a native addon (no shared memory across processes in plain Node): skipped.',
  'piscina runs with its defaults (1 thread, concurrentTasksPerWorker=1, atomics "sync"), so its pipelined rate is queue-bound.',
  'sab-copy: host .set()s the frame into a 4-slot SAB ring; sab-inplace/pm-transfer: host writes 1 byte (zero-copy floor).',
  'frames are consumed by reading every 4096th byte; MB = 1e6 bytes.',
];

/** Default knobs; `quick` is for smoke tests. */
export const DEFAULTS = {
  roundTrip: { warmup: 500, trips: 2000, reps: 5, timeoutMs: 15000 },
  pipelined: { inFlight: 64, warmupMs: 100, durationMs: 200, reps: 5, timeoutMs: 15000 },
  frames: { depth: 4, warmupMs: 80, durationMs: 200, reps: 3, timeoutMs: 5000 },
};
export const QUICK = {
  roundTrip: { warmup: 100, trips: 200, reps: 2, timeoutMs: 10000 },
  pipelined: { inFlight: 64, warmupMs: 30, durationMs: 50, reps: 2, timeoutMs: 10000 },
  frames: { depth: 4, warmupMs: 20, durationMs: 50, reps: 2, timeoutMs: 5000 },
};

/**
 * @typedef {import('./clients.js').PeerClient} PeerClient
 * @typedef {import('./clients.js').FrameSink} FrameSink
 * @typedef {import('./clients.js').PeerName} PeerName
 * @typedef {import('./clients.js').FrameCase} FrameCase
 * @typedef {import('../lib/drive.js').RoundTripOptions} RoundTripOptions
 * @typedef {import('../lib/drive.js').RoundTripResult} RoundTripResult
 * @typedef {import('../lib/drive.js').PipelineOptions} PipelineOptions
 * @typedef {import('../lib/drive.js').PipelineResult} PipelineResult
 */

/**
 * Run `fn` against a client: open by name (and close afterwards) or use the
 * given object as-is.
 * @template C, R
 * @param {string | C & { close(): Promise<void> }} peer
 * @param {(name: string) => Promise<C & { close(): Promise<void> }>} open
 * @param {(client: C) => Promise<R>} fn
 * @returns {Promise<R>}
 */
async function withClient(peer, open, fn) {
  if (typeof peer !== 'string') return fn(peer);
  const client = await open(peer);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * Sequential round trips (one small request in flight).
 * @param {PeerName | PeerClient} peer
 * @param {RoundTripOptions} [opts]
 * @returns {Promise<RoundTripResult>}
 */
export function measureRoundTrip(peer, opts = {}) {
  return withClient(peer, (n) => openPeer(/** @type {PeerName} */ (n)), (c) =>
    timeRoundTrips((seq) => c.call(seq), { ...DEFAULTS.roundTrip, ...opts }),
  );
}

/**
 * Pipelined throughput: `inFlight` small requests outstanding (capped by the
 * client's maxInFlight). Result field `opsPerSec` = messages/s.
 * @param {PeerName | PeerClient} peer
 * @param {PipelineOptions} [opts]
 * @returns {Promise<PipelineResult>}
 */
export function measurePipelined(peer, opts = {}) {
  return withClient(peer, (n) => openPeer(/** @type {PeerName} */ (n)), (c) => {
    const o = { ...DEFAULTS.pipelined, ...opts };
    o.inFlight = Math.min(o.inFlight, c.maxInFlight ?? Infinity);
    return timePipelined((seq) => c.call(seq), o);
  });
}

/**
 * @typedef {object} FrameOptions
 * @property {number} [depth]      frames in flight / ring slots (default 4)
 * @property {number} [warmupMs]
 * @property {number} [durationMs] issue window per repetition
 * @property {number} [reps]
 * @property {number} [timeoutMs]  cap for the whole case (default 5000) -> status 'timeout'
 */

/**
 * @typedef {object} FrameResult
 * @property {'ok' | 'timeout' | 'error'} status
 * @property {number} frameBytes
 * @property {number} framesPerSec median over repetitions (NaN unless ok)
 * @property {number} mbPerSec     framesPerSec * frameBytes / 1e6
 * @property {number[]} reps       frames/s per repetition (on timeout: those completed in time)
 * @property {string} [error]
 */

/**
 * Bare memcpy baseline: Uint8Array.prototype.set of a frame into a
 * preallocated slot, synchronously, for `durationMs` per repetition.
 * @param {number} frameBytes
 * @param {FrameOptions} o
 */
function timeMemcpy(frameBytes, o) {
  const src = makeFrame(frameBytes);
  const dst = new Uint8Array(frameBytes);
  const batch = Math.max(1, Math.floor((1 << 22) / frameBytes));
  /** @param {number} ms */
  const run = (ms) => {
    const t0 = nowUs();
    const end = t0 + ms * 1000;
    let n = 0;
    let t = t0;
    do {
      for (let i = 0; i < batch; i++) dst.set(src);
      n += batch;
      t = nowUs();
    } while (t < end);
    return n / ((t - t0) / 1e6);
  };
  run(o.warmupMs ?? 100);
  /** @type {number[]} */
  const reps = [];
  for (let r = 0; r < (o.reps ?? 3); r++) reps.push(run(o.durationMs ?? 250));
  return reps;
}

/**
 * Frame hand-off throughput for one case and frame size.
 * @param {FrameCase | FrameSink} frameCase
 * @param {number} frameBytes
 * @param {FrameOptions} [opts]
 * @returns {Promise<FrameResult>}
 */
export async function measureFrames(frameCase, frameBytes, opts = {}) {
  const o = { ...DEFAULTS.frames, ...opts };
  /** @param {number[]} reps @returns {FrameResult} */
  const ok = (reps) => {
    const fps = median(reps);
    return { status: 'ok', frameBytes, framesPerSec: fps, mbPerSec: (fps * frameBytes) / 1e6, reps };
  };
  if (frameCase === 'memcpy') return ok(timeMemcpy(frameBytes, o));
  try {
    const res = await withClient(
      frameCase,
      (n) => openFrameSink(/** @type {Exclude<FrameCase, 'memcpy'>} */ (n), frameBytes, { depth: o.depth }),
      (sink) =>
        timePipelined((seq) => sink.send(seq), {
          inFlight: Math.min(o.depth, sink.maxInFlight ?? Infinity),
          warmupMs: o.warmupMs,
          durationMs: o.durationMs,
          reps: o.reps,
          timeoutMs: o.timeoutMs,
        }),
    );
    return ok(res.reps.map((r) => r.opsPerSec));
  } catch (err) {
    const timeout = err instanceof BenchTimeoutError;
    return {
      status: timeout ? 'timeout' : 'error',
      frameBytes,
      framesPerSec: Number.NaN,
      mbPerSec: Number.NaN,
      reps: timeout ? err.partial.map((r) => /** @type {import('../lib/drive.js').PipelineRep} */ (r).opsPerSec) : [],
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

/** Where and how this placement runs, as both runners record it (`seconds` and `loadavgEnd` are filled in at the end). */
export function placementMeta() {
  return {
    affinity: cpuAffinity(),
    availableParallelism: os.availableParallelism(),
    node: process.version,
    pid: process.pid,
    seconds: 0,
    loadavgStart: os.loadavg(),
    /** @type {number[]} */
    loadavgEnd: [],
  };
}

/** CPU affinity of this process as the kernel reports it (Linux), else ''. */
export function cpuAffinity() {
  try {
    const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ?? '';
  } catch {
    return '';
  }
}

/**
 * @typedef {object} PeerResult
 * @property {RoundTripResult | null} roundTrip
 * @property {PipelineResult | null} pipelined
 * @property {string} [error]
 */

/**
 * @typedef {object} PlacementResult
 * @property {string} placement
 * @property {{ affinity: string, availableParallelism: number, node: string, pid: number, seconds: number, loadavgStart: number[], loadavgEnd: number[] }} meta
 *   loadavg* = os.loadavg() before/after (1/5/15 min): the machine is shared, judge noise by it
 * @property {Record<string, PeerResult>} peers
 * @property {Record<string, Record<string, FrameResult>>} frames case -> size name -> result
 */

/**
 * @typedef {object} RunOptions
 * @property {string} [placement] label only (affinity is set by whoever spawned us)
 * @property {readonly PeerName[]} [peers]
 * @property {readonly FrameCase[]} [frameCases]
 * @property {readonly FrameSizeName[]} [frameSizes]
 * @property {boolean} [quick]
 * @property {(line: string) => void} [log] progress output
 */

/**
 * Measure every selected peer and frame case in this process.
 * @param {RunOptions} [opts]
 * @returns {Promise<PlacementResult>}
 */
export async function runPeers(opts = {}) {
  const knobs = opts.quick ? QUICK : DEFAULTS;
  const log = opts.log ?? (() => undefined);
  const t0 = nowUs();
  /** @type {PlacementResult} */
  const out = {
    placement: opts.placement ?? 'default',
    meta: placementMeta(),
    peers: {},
    frames: {},
  };
  for (const name of opts.peers ?? PEERS) {
    log(`peer ${name}`);
    /** @type {PeerResult} */
    const r = { roundTrip: null, pipelined: null };
    out.peers[name] = r;
    /** @type {PeerClient | undefined} */
    let client;
    try {
      client = await openPeer(name);
      r.roundTrip = await measureRoundTrip(client, knobs.roundTrip);
      r.pipelined = await measurePipelined(client, knobs.pipelined);
    } catch (err) {
      r.error = err instanceof Error ? err.message : String(err);
      log(`  ${name}: ${r.error}`);
    } finally {
      await client?.close().catch(() => undefined);
    }
    await settle(20);
  }
  for (const c of opts.frameCases ?? FRAME_CASES) {
    /** @type {Record<string, FrameResult>} */
    const perSize = {};
    out.frames[c] = perSize;
    for (const s of opts.frameSizes ?? /** @type {FrameSizeName[]} */ (Object.keys(FRAME_SIZES))) {
      log(`frames ${c} ${s}`);
      perSize[s] = await measureFrames(c, FRAME_SIZES[s], knobs.frames);
      await settle(20);
    }
  }
  out.meta.seconds = (nowUs() - t0) / 1e6;
  out.meta.loadavgEnd = os.loadavg();
  return out;
}
