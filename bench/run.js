#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench`: our adapters (inline, embedded, isolated) next to the peer baselines, in the
 * same process and run, with the ratios we hold ourselves to, and the cost of an isolated
 * plugin's crash (detection, recovery; bench/ours/lifecycle.js).
 *
 *   node bench/run.js [--placement both|default|pinned] [--json out.json] [--quick] [--verbose]
 *
 * "default" runs in this process; "pinned" re-executes this script under `taskset -c 0`
 * (worker threads inherit the affinity: the whole tree on one core) and reads its results
 * back through a temporary JSON file. The isolated copy-transport variant runs in a child
 * process without the addon (bench/ours/copy-transport.js). Repetitions are interleaved
 * across the clients (rep 1 of every client, then rep 2, ...), so drift on this shared
 * machine hits all alike; every number quoted is the median over repetitions.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRuntime } from 'plugin-seam';
import { bounded, settle, timePipelined, timeRoundTrips, withDeadline } from './lib/drive.js';
import { runPinned } from './lib/pinned.js';
import { exitQuietlyOnEpipe } from './lib/stdout.js';
import { median, nowUs } from './lib/stats.js';
import { fmtMet, fmtNum, formatTable } from './lib/table.js';
import { measureFrames, openFrameSink, openPeer, placementMeta } from './peers/index.js';
import {
  ConnectFeeder,
  PIPELINE_DEPTH,
  SHAPES,
  frameClient,
  frameMaker,
  messageClient,
  openLarge,
  openSmall,
} from './ours/clients.js';
import { openBarePipeline } from './ours/barePipeline.js';
import { openCopyTransport } from './ours/copy-transport.js';
import { calibrateCount, feedFixedCount } from './ours/feeder.js';
import { formatLifecycle, isolatedRatios, lifecycleTargets } from './ours/isolated-report.js';
import { measureLifecycle } from './ours/lifecycle.js';

const SELF = fileURLToPath(import.meta.url);
exitQuietlyOnEpipe();
const PINNED_CHILD_TIMEOUT_MS = 200_000;

const { values: args } = parseArgs({
  options: {
    placement: { type: 'string', default: 'both' },
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});

/** Knobs. Round trip: trips per rep; pipelined / frames: ms per rep. */
const KNOBS = {
  full: {
    roundTrip: { warmup: 500, repWarmup: 100, trips: 2000, reps: 5, timeoutMs: 15_000 },
    pipelined: { inFlight: PIPELINE_DEPTH, warmupMs: 100, repWarmupMs: 20, durationMs: 200, reps: 5, timeoutMs: 15_000 },
    frames: { depth: 4, warmupMs: 80, durationMs: 200, reps: 5, timeoutMs: 8_000 },
    lifecycle: { reps: 10, queued: 3, timeoutMs: 10_000 },
  },
  quick: {
    roundTrip: { warmup: 100, repWarmup: 20, trips: 300, reps: 2, timeoutMs: 10_000 },
    pipelined: { inFlight: PIPELINE_DEPTH, warmupMs: 30, repWarmupMs: 5, durationMs: 50, reps: 2, timeoutMs: 10_000 },
    frames: { depth: 4, warmupMs: 20, durationMs: 50, reps: 2, timeoutMs: 5_000 },
    lifecycle: { reps: 3, queued: 3, timeoutMs: 10_000 },
  },
};
/** @typedef {typeof KNOBS.full} Knobs */

const PEER_CLIENTS = /** @type {const} */ (['sab-atomics', 'postmessage', 'comlink', 'piscina', 'fork-json', 'fork-advanced', 'uds']);
const OUR_CLIENTS = /** @type {const} */ ([
  'inline frame',
  'inline message',
  'embedded frame',
  'embedded message',
  'isolated frame',
  'isolated message',
  'isolated frame (copy transport)',
  'isolated message (copy transport)',
]);
const SIZES = /** @type {const} */ (['1KB', '1080p', '4K']);
const FRAME_CASES = /** @type {const} */ ([
  'memcpy',
  'sab-copy',
  'sab-inplace',
  'fork-advanced',
  'inline zero-copy',
  'inline one-copy',
  'embedded zero-copy',
  'embedded one-copy',
  'isolated zero-copy',
  'isolated one-copy',
]);
const MODES = /** @type {const} */ (['inline', 'embedded', 'isolated']);
/** Peers in the frame table (besides memcpy): SAB floors, and process.send for isolated mode. */
const PEER_FRAME_CASES = /** @type {const} */ (['sab-copy', 'sab-inplace', 'fork-advanced']);

const NOTES = [
  'round trip: one input in flight, submit -> outcome (frame: 64 B gray, own buffer, through connect; message: 64-char string through send, echoed); peers: bench/peers (fork-* = process.send json/advanced, uds = Unix socket).',
  'pipelined: 64 inputs in flight; inline mode delivers one at a time by design (maxInFlight 1); the isolated copy transport holds 64 too (its start record stands in for the shared fence words).',
  'bare SAB pipeline (pipelined only, with a core per side): bench/ours/barePipeline.js, a shared-memory echo between the main thread and a worker with none of the runtime\'s work and a host that never parks; its rate is the ceiling of the "embedded / postMessage" rows on this machine.',
  'isolated (copy transport): the same instance in a child bench process run with PLUGIN_SEAM_NO_ADDON=1 (frames over the pipe); its repetitions are interleaved with the others (requested over IPC, outside the timed section).',
  'frames: 4 in flight; ours = fixed count per rep (calibrated to ~durationMs), first submit -> last outcome; zero-copy = acquire, write 1 byte, connect; one-copy = own buffer (copied once into a slot).',
  'every consumer (peers and the bench plugin) reads every 4096th byte of a frame; MB = 1e6 B.',
  'ratios of times (p50, time per frame) are "lower is better", ratios of rates "higher is better".',
  'lifecycle: SIGKILL of the isolated child (pid from the plugin) with 1 send held and 3 behind it; restart backoff 0; spawn baseline = spawn(node, [script]) until its first write on fd 3 (empty env, own process group, as the adapter), paired per repetition.',
];

/** @param {string} line */
const log = (line) => {
  process.stderr.write(`  .. ${line}\n`);
};
/** @param {string} line */
const vlog = (line) => {
  if (args.verbose) log(line);
};
/** @param {unknown} err */
const errText = (err) => (err instanceof Error ? err.message : String(err));

/**
 * @typedef {object} RoundTripEntry
 * @property {number} p50Us  median over reps of the per-rep p50
 * @property {number} p99Us  median over reps of the per-rep p99
 * @property {number} meanUs
 * @property {import('./lib/stats.js').Summary[]} reps
 * @property {string} [error]
 */
/**
 * @typedef {object} PipelinedEntry
 * @property {number} opsPerSec median over reps
 * @property {number} inFlight
 * @property {import('./lib/drive.js').PipelineRep[]} reps
 * @property {string} [error]
 */
/**
 * @typedef {object} FrameEntry
 * @property {number} framesPerSec median over reps
 * @property {number} mbPerSec
 * @property {number[]} reps frames/s per rep
 * @property {number} [count] frames per rep (ours)
 * @property {string} [error]
 */
/**
 * @typedef {object} RatioEntry
 * @property {string} name
 * @property {number} value ratio of the medians
 * @property {number[]} repRange [min, max] of the per-repetition (paired) ratios
 * @property {string} target e.g. "<= 1.2"; "info" when there is none
 * @property {boolean | null} met
 * @property {string} how what was divided by what
 */
/**
 * @typedef {object} PlacementResult
 * @property {string} placement
 * @property {{ affinity: string, availableParallelism: number, node: string, pid: number, seconds: number, loadavgStart: number[], loadavgEnd: number[], transports: Record<string, string> }} meta
 * @property {Record<string, RoundTripEntry>} roundTrip
 * @property {Record<string, PipelinedEntry>} pipelined
 * @property {Record<string, Record<string, FrameEntry>>} frames case -> size -> entry
 * @property {import('./ours/lifecycle.js').LifecycleResult | null} lifecycle isolated kill/restart
 * @property {import('./ours/isolated-report.js').LifecycleTarget[]} lifecycleTargets
 * @property {RatioEntry[]} ratios
 */

/**
 * A client measured in the interleaved round-trip / pipelined sections; `remote` ones time
 * themselves in another process (the copy-transport child) with the same drivers.
 * @typedef {{ name: string, call: (seq: number) => Promise<unknown>, maxInFlight?: number, remote?: import('./ours/copy-transport.js').RemoteDriver }} Measured
 */

/**
 * Round trips, one input in flight; reps interleaved across clients.
 * @param {Measured[]} clients
 * @param {Knobs['roundTrip']} k
 * @returns {Promise<Record<string, RoundTripEntry>>}
 */
async function roundTrips(clients, k) {
  /** @type {Record<string, RoundTripEntry>} */
  const out = {};
  for (const c of clients) out[c.name] = { p50Us: Number.NaN, p99Us: Number.NaN, meanUs: Number.NaN, reps: [] };
  for (let r = 0; r < k.reps; r++) {
    for (const c of clients) {
      const e = /** @type {RoundTripEntry} */ (out[c.name]);
      if (e.error) continue;
      try {
        const opts = { warmup: r === 0 ? k.warmup : k.repWarmup, trips: k.trips, reps: 1, timeoutMs: k.timeoutMs };
        const res = await (c.remote ? c.remote.roundTrip(opts) : timeRoundTrips(c.call, opts));
        if (res.reps[0]) e.reps.push(res.reps[0]);
        vlog(`round trip ${c.name} rep ${r + 1}: p50 ${fmtNum(res.p50Us)} µs`);
      } catch (err) {
        e.error = errText(err);
        log(`round trip ${c.name}: ${e.error}`);
      }
    }
  }
  for (const e of Object.values(out)) {
    e.p50Us = median(e.reps.map((s) => s.p50));
    e.p99Us = median(e.reps.map((s) => s.p99));
    e.meanUs = median(e.reps.map((s) => s.mean));
  }
  return out;
}

/**
 * Pipelined throughput, `inFlight` inputs outstanding; reps interleaved across clients.
 * @param {Measured[]} clients
 * @param {Knobs['pipelined']} k
 * @returns {Promise<Record<string, PipelinedEntry>>}
 */
async function pipelined(clients, k) {
  /** @type {Record<string, PipelinedEntry>} */
  const out = {};
  for (const c of clients) out[c.name] = { opsPerSec: Number.NaN, inFlight: Math.min(k.inFlight, c.maxInFlight ?? Infinity), reps: [] };
  for (let r = 0; r < k.reps; r++) {
    for (const c of clients) {
      const e = /** @type {PipelinedEntry} */ (out[c.name]);
      if (e.error) continue;
      try {
        const opts = { inFlight: e.inFlight, warmupMs: r === 0 ? k.warmupMs : k.repWarmupMs, durationMs: k.durationMs, reps: 1, timeoutMs: k.timeoutMs };
        const res = await (c.remote ? c.remote.pipelined(opts) : timePipelined(c.call, opts));
        if (res.reps[0]) e.reps.push(res.reps[0]);
        vlog(`pipelined ${c.name} rep ${r + 1}: ${fmtNum(res.opsPerSec)}/s`);
      } catch (err) {
        e.error = errText(err);
        log(`pipelined ${c.name}: ${e.error}`);
      }
    }
  }
  for (const e of Object.values(out)) e.opsPerSec = median(e.reps.map((x) => x.opsPerSec));
  return out;
}

/**
 * A frame case for the interleaved frame section: `prepare` warms up, `rep` returns frames/s.
 * @typedef {{ name: string, prepare: () => Promise<void>, rep: () => Promise<number>, close: () => Promise<void>, count?: () => number }} FrameCaseRun
 */

/**
 * @param {import('plugin-seam').PluginInstance} p
 * @param {ConnectFeeder} feeder
 * @param {import('./ours/clients.js').Shape} shape
 * @param {'zero-copy' | 'one-copy'} variant
 * @param {Knobs['frames']} k
 * @returns {FrameCaseRun}
 */
function ourFrameCase(p, feeder, shape, variant, k) {
  const make = frameMaker(p, shape, variant);
  let count = 0;
  return {
    name: `${p.mode} ${variant}`,
    async prepare() {
      count = await withDeadline('frames warm-up', k.timeoutMs, () =>
        calibrateCount(feeder, make, { depth: k.depth, warmupMs: k.warmupMs, durationMs: k.durationMs }),
      );
    },
    async rep() {
      const us = await withDeadline('frames', k.timeoutMs, () => feedFixedCount(feeder, { count, depth: k.depth, make }));
      return count / (us / 1e6);
    },
    close: async () => undefined,
    count: () => count,
  };
}

/**
 * @param {(typeof PEER_FRAME_CASES)[number]} name
 * @param {number} bytes
 * @param {Knobs['frames']} k
 * @returns {Promise<FrameCaseRun>}
 */
async function peerFrameCase(name, bytes, k) {
  const sink = await openFrameSink(name, bytes, { depth: k.depth });
  const inFlight = Math.min(k.depth, sink.maxInFlight ?? Infinity);
  return {
    name,
    async prepare() {
      await timePipelined((seq) => sink.send(seq), { inFlight, warmupMs: k.warmupMs, durationMs: 0, reps: 0, timeoutMs: k.timeoutMs });
    },
    async rep() {
      const res = await timePipelined((seq) => sink.send(seq), { inFlight, warmupMs: 0, durationMs: k.durationMs, reps: 1, timeoutMs: k.timeoutMs });
      return res.reps[0]?.opsPerSec ?? Number.NaN;
    },
    close: () => sink.close(),
  };
}

/**
 * @param {number} bytes
 * @param {Knobs['frames']} k
 * @returns {FrameCaseRun}
 */
function memcpyCase(bytes, k) {
  return {
    name: 'memcpy',
    async prepare() {
      await measureFrames('memcpy', bytes, { warmupMs: k.warmupMs, durationMs: 1, reps: 1 });
    },
    async rep() {
      const res = await measureFrames('memcpy', bytes, { warmupMs: 0, durationMs: k.durationMs, reps: 1 });
      return res.reps[0] ?? Number.NaN;
    },
    close: async () => undefined,
  };
}

/**
 * Frame hand-off for one size: every case prepared, then reps interleaved.
 * @param {FrameCaseRun[]} cases
 * @param {number} bytes
 * @param {Knobs['frames']} k
 * @param {string} size
 * @returns {Promise<Record<string, FrameEntry>>}
 */
async function frameSection(cases, bytes, k, size) {
  /** @type {Record<string, FrameEntry>} */
  const out = {};
  for (const c of cases) out[c.name] = { framesPerSec: Number.NaN, mbPerSec: Number.NaN, reps: [] };
  /** @param {FrameCaseRun} c @param {() => Promise<unknown>} fn */
  const guarded = async (c, fn) => {
    const e = /** @type {FrameEntry} */ (out[c.name]);
    if (e.error) return;
    try {
      await fn();
    } catch (err) {
      e.error = errText(err);
      log(`frames ${size} ${c.name}: ${e.error}`);
    }
  };
  for (const c of cases) await guarded(c, () => c.prepare());
  for (let r = 0; r < k.reps; r++) {
    for (const c of cases) {
      await guarded(c, async () => {
        const fps = await c.rep();
        /** @type {FrameEntry} */ (out[c.name]).reps.push(fps);
        vlog(`frames ${size} ${c.name} rep ${r + 1}: ${fmtNum(fps)} f/s`);
      });
      await settle(5);
    }
  }
  for (const c of cases) {
    const e = /** @type {FrameEntry} */ (out[c.name]);
    e.framesPerSec = median(e.reps);
    e.mbPerSec = (e.framesPerSec * bytes) / 1e6;
    if (c.count) e.count = c.count();
  }
  return out;
}

/**
 * Everything, in this process.
 * @param {string} placement
 * @param {Knobs} k
 * @returns {Promise<PlacementResult>}
 */
async function runPlacement(placement, k) {
  const t0 = nowUs();
  /** @type {PlacementResult} */
  const res = {
    placement,
    meta: { ...placementMeta(), transports: {} },
    roundTrip: {},
    pipelined: {},
    frames: {},
    lifecycle: null,
    lifecycleTargets: [],
    ratios: [],
  };
  /** @param {string} what */
  const step = (what) => {
    log(`[${placement}] ${what} (at ${((nowUs() - t0) / 1e6).toFixed(1)} s)`);
  };
  const runtime = createRuntime();
  /** @type {{ name: string, close: () => Promise<void> }[]} */
  const peers = [];
  /** @type {Awaited<ReturnType<typeof openCopyTransport>> | undefined} */
  let copy;
  try {
    step('starting peers and instances');
    for (const name of PEER_CLIENTS) {
      try {
        peers.push(await openPeer(name));
      } catch (err) {
        log(`peer ${name}: ${errText(err)}`);
      }
    }
    const small = { inline: await openSmall(runtime, 'inline'), embedded: await openSmall(runtime, 'embedded'), isolated: await openSmall(runtime, 'isolated') };
    const smallFeeders = { inline: new ConnectFeeder(small.inline), embedded: new ConnectFeeder(small.embedded), isolated: new ConnectFeeder(small.isolated) };
    try {
      copy = await openCopyTransport();
      res.meta.transports['isolated-small (PLUGIN_SEAM_NO_ADDON=1 child)'] = copy.transport;
    } catch (err) {
      log(`isolated (copy transport): ${errText(err)}`);
    }
    /** @type {Measured[]} */
    const clients = [...peers.map((p) => /** @type {Measured} */ (p))];
    /** @type {Measured[]} */
    const pipelinedOnly = [];
    // Its host never parks and its worker spins: with one core between them it measures the
    // collapse DESIGN.md describes (0.1M/s), not a ceiling.
    if (os.availableParallelism() > 1) {
      try {
        const bare = await openBarePipeline();
        peers.push(bare);
        pipelinedOnly.push(bare);
      } catch (err) {
        log(`bare SAB pipeline: ${errText(err)}`);
      }
    }
    for (const mode of MODES) {
      clients.push({ ...frameClient(small[mode], smallFeeders[mode]), name: `${mode} frame` }, { ...messageClient(small[mode]), name: `${mode} message` });
    }
    clients.push(...(copy?.clients ?? []));

    step('round trip');
    res.roundTrip = await roundTrips(clients, k.roundTrip);
    step('pipelined');
    res.pipelined = await pipelined([...clients, ...pipelinedOnly], k.pipelined);
    for (const p of peers.splice(0)) await p.close().catch((err) => log(`close ${p.name}: ${errText(err)}`));
    await copy?.close().catch((err) => log(`close copy transport: ${errText(err)}`));
    copy = undefined;

    const large = { inline: await openLarge(runtime, 'inline'), embedded: await openLarge(runtime, 'embedded'), isolated: await openLarge(runtime, 'isolated') };
    const largeFeeders = { inline: new ConnectFeeder(large.inline), embedded: new ConnectFeeder(large.embedded), isolated: new ConnectFeeder(large.isolated) };
    for (const size of SIZES) {
      step(`frames ${size}`);
      const shape = SHAPES[size];
      const isSmall = size === '1KB';
      const inst = isSmall ? small : large;
      const feeders = isSmall ? smallFeeders : largeFeeders;
      /** @type {FrameCaseRun[]} */
      const cases = [memcpyCase(shape.bytes, k.frames)];
      for (const name of PEER_FRAME_CASES) {
        try {
          cases.push(await peerFrameCase(name, shape.bytes, k.frames));
        } catch (err) {
          log(`frames ${size} ${name}: ${errText(err)}`);
        }
      }
      for (const mode of MODES) {
        for (const variant of /** @type {const} */ (['zero-copy', 'one-copy'])) {
          cases.push(ourFrameCase(inst[mode], feeders[mode], shape, variant, k.frames));
        }
      }
      const section = await frameSection(cases, shape.bytes, k.frames, size);
      for (const c of cases) await c.close().catch((err) => log(`close ${c.name}: ${errText(err)}`));
      for (const [name, entry] of Object.entries(section)) (res.frames[name] ??= {})[size] = entry;
    }
    for (const mode of MODES) {
      for (const p of [small[mode], large[mode]]) res.meta.transports[p.id] = p.status.transport;
      smallFeeders[mode].close();
      largeFeeders[mode].close();
    }

    step('isolated lifecycle (kill, restart)');
    res.lifecycle = await measureLifecycle(runtime, k.lifecycle, vlog);
    if (res.lifecycle.error) log(`lifecycle: ${res.lifecycle.error}`);
    res.meta.transports['isolated-lifecycle'] = res.lifecycle.transport;
  } finally {
    for (const p of peers) await p.close().catch(() => undefined);
    await copy?.close().catch(() => undefined);
    await bounded(runtime.shutdown(), 15_000, 'runtime shutdown').catch((err) => log(errText(err)));
  }
  res.lifecycleTargets = lifecycleTargets(res.lifecycle);
  res.ratios = computeRatios(res);
  res.meta.seconds = (nowUs() - t0) / 1e6;
  res.meta.loadavgEnd = os.loadavg();
  return res;
}

/**
 * The ratios we hold ourselves to (plus a few without a target, for context). `value` is the
 * ratio of the medians; `repRange` the min and max of the per-repetition ratios (reps are
 * interleaved, so rep i of both sides ran back to back): a wide range means a noisy machine.
 * @param {PlacementResult} r
 * @returns {RatioEntry[]}
 */
function computeRatios(r) {
  /** @typedef {{ med: number, reps: number[] }} Side */
  /** @returns {Side} */
  const rt = (/** @type {string} */ c) => {
    const e = r.roundTrip[c];
    return { med: e?.p50Us ?? Number.NaN, reps: (e?.reps ?? []).map((x) => x.p50) };
  };
  /** @returns {Side} */
  const pl = (/** @type {string} */ c) => {
    const e = r.pipelined[c];
    return { med: e?.opsPerSec ?? Number.NaN, reps: (e?.reps ?? []).map((x) => x.opsPerSec) };
  };
  /** @returns {Side} */
  const fr = (/** @type {string} */ c, /** @type {string} */ s) => {
    const e = r.frames[c]?.[s];
    return { med: e?.framesPerSec ?? Number.NaN, reps: e?.reps ?? [] };
  };
  /** @param {number} a @param {number} b */
  const div = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN);
  /** @param {string} name @param {Side} a @param {Side} b @param {string} how @param {'<=' | '>=' | null} op @param {number} [t] @returns {RatioEntry} */
  const entry = (name, a, b, how, op, t = Number.NaN) => {
    const value = div(a.med, b.med);
    const paired = a.reps.slice(0, b.reps.length).map((x, i) => div(x, b.reps[i] ?? Number.NaN)).filter(Number.isFinite);
    const met = op === null || !Number.isFinite(value) ? null : op === '<=' ? value <= t : value >= t;
    return {
      name,
      value,
      repRange: paired.length ? [Math.min(...paired), Math.max(...paired)] : [],
      target: op === null ? 'info' : `${op === '<=' ? '≤' : '≥'} ${t}`,
      met,
      how,
    };
  };
  return [
    entry('rt p50: embedded frame / SAB Atomics', rt('embedded frame'), rt('sab-atomics'), 'p50 µs / p50 µs', '<=', 1.2),
    entry('rt p50: embedded message / SAB Atomics', rt('embedded message'), rt('sab-atomics'), 'p50 µs / p50 µs', '<=', 1.2),
    entry('rt p50: embedded frame / postMessage', rt('embedded frame'), rt('postmessage'), 'p50 µs / p50 µs', '<=', 1.0),
    entry('rt p50: embedded message / postMessage', rt('embedded message'), rt('postmessage'), 'p50 µs / p50 µs', '<=', 1.0),
    entry('pipelined: embedded frame / Comlink', pl('embedded frame'), pl('comlink'), 'inputs/s / msg/s', '>=', 10),
    entry('pipelined: embedded message / Comlink', pl('embedded message'), pl('comlink'), 'inputs/s / msg/s', '>=', 10),
    entry('pipelined: embedded frame / postMessage', pl('embedded frame'), pl('postmessage'), 'inputs/s / msg/s', '>=', 5),
    entry('pipelined: embedded message / postMessage', pl('embedded message'), pl('postmessage'), 'inputs/s / msg/s', '>=', 5),
    // A shared-memory pipeline with no runtime, the same driver: the ceiling of the two rows above.
    entry('pipelined: bare SAB pipeline / postMessage', pl('bare SAB pipeline'), pl('postmessage'), 'msg/s / msg/s', null),
    entry('pipelined: embedded message / bare SAB pipeline', pl('embedded message'), pl('bare SAB pipeline'), 'msg/s / msg/s', null),
    entry('pipelined: SAB Atomics peer / postMessage', pl('sab-atomics'), pl('postmessage'), 'msg/s / msg/s', null),
    entry('4K: embedded zero-copy / sab-inplace', fr('embedded zero-copy', '4K'), fr('sab-inplace', '4K'), 'f/s / f/s', '>=', 0.8),
    entry('4K: embedded one-copy time / memcpy time', fr('memcpy', '4K'), fr('embedded one-copy', '4K'), 'memcpy f/s / one-copy f/s', '<=', 1.2),
    entry('1080p: embedded zero-copy / sab-inplace', fr('embedded zero-copy', '1080p'), fr('sab-inplace', '1080p'), 'f/s / f/s', null),
    entry('1080p: embedded one-copy time / memcpy time', fr('memcpy', '1080p'), fr('embedded one-copy', '1080p'), 'memcpy f/s / one-copy f/s', null),
    entry('4K: inline zero-copy / sab-inplace', fr('inline zero-copy', '4K'), fr('sab-inplace', '4K'), 'f/s / f/s', null),
    entry('4K: inline one-copy time / memcpy time', fr('memcpy', '4K'), fr('inline one-copy', '4K'), 'memcpy f/s / one-copy f/s', null),
    ...isolatedRatios(r, { rt, pl, fr, entry }),
  ];
}

/** @param {PlacementResult} r */
function printPlacement(r) {
  const m = r.meta;
  const lines = [
    `== placement: ${r.placement} (cpus ${m.affinity || '?'}, availableParallelism ${m.availableParallelism}, ${m.node}, ` +
      `${m.seconds.toFixed(1)} s, load ${(m.loadavgStart[0] ?? 0).toFixed(1)}->${(m.loadavgEnd[0] ?? 0).toFixed(1)})`,
  ];
  const names = [...PEER_CLIENTS, 'bare SAB pipeline', ...OUR_CLIENTS];
  lines.push(
    formatTable(
      ['small input (64 B)', 'rt p50 µs', 'rt p99 µs', 'pipelined /s'],
      names.map((n) => {
        const a = r.roundTrip[n];
        const b = r.pipelined[n];
        const err = a?.error ?? b?.error;
        return [n, fmtNum(a?.p50Us), fmtNum(a?.p99Us), fmtNum(b?.opsPerSec) + (err ? `  (${err})` : '')];
      }),
    ),
  );
  lines.push(
    '',
    formatTable(
      ['frames, 4 in flight', ...SIZES.flatMap((s) => [`${s} f/s`, 'MB/s'])],
      FRAME_CASES.map((c) => [
        c,
        ...SIZES.flatMap((s) => {
          const f = r.frames[c]?.[s];
          if (!f || !Number.isFinite(f.framesPerSec)) return [f?.error ? 'n/a (error)' : 'n/a', ''];
          return [fmtNum(f.framesPerSec), fmtNum(f.mbPerSec)];
        }),
      ]),
    ),
  );
  lines.push(
    '',
    formatTable(
      ['ratio (of medians)', 'value', 'rep range', 'target', 'met?'],
      r.ratios.map((x) => [
        x.name,
        Number.isFinite(x.value) ? x.value.toFixed(2) : 'n/a',
        x.repRange.length === 2 ? x.repRange.map((v) => v.toFixed(2)).join('-') : '',
        x.target,
        fmtMet(x.met),
      ]),
    ),
  );
  if (r.lifecycle) lines.push('', formatLifecycle(r.lifecycle, r.lifecycleTargets));
  lines.push(`  transports: ${Object.entries(m.transports).map(([id, t]) => `${id}=${t}`).join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

/** @returns {Promise<PlacementResult>} */
async function runPinnedPlacement() {
  const passthrough = [...(args.quick ? ['--quick'] : []), ...(args.verbose ? ['--verbose'] : [])];
  return /** @type {PlacementResult} */ (await runPinned(SELF, passthrough, PINNED_CHILD_TIMEOUT_MS));
}

async function main() {
  const knobs = args.quick ? KNOBS.quick : KNOBS.full;
  const placement = args.placement;
  if (args.child) {
    const r = await runPlacement(placement, knobs);
    if (args.json) writeFileSync(args.json, JSON.stringify(r, null, 2));
    return;
  }
  if (!['both', 'default', 'pinned'].includes(placement)) throw new Error('--placement must be both|default|pinned');
  /** @type {Record<string, PlacementResult>} */
  const placements = {};
  if (placement !== 'pinned') {
    process.stderr.write('running placement "default" ...\n');
    placements.default = await runPlacement('default', knobs);
    printPlacement(placements.default);
  }
  if (placement !== 'default') {
    process.stderr.write('running placement "pinned" (taskset -c 0) ...\n');
    placements.pinned = await runPinnedPlacement();
    printPlacement(placements.pinned);
  }
  process.stdout.write(`notes:\n${NOTES.map((n) => `  - ${n}`).join('\n')}\n`);
  if (args.json) {
    const doc = {
      schema: 'plugin-seam/bench@1',
      date: new Date().toISOString(),
      quick: args.quick,
      knobs,
      units: { p50Us: 'µs', p99Us: 'µs', opsPerSec: 'inputs/s', framesPerSec: 'frames/s', mbPerSec: '1e6 B/s', lifecycle: 'ms' },
      notes: NOTES,
      placements,
    };
    writeFileSync(args.json, JSON.stringify(doc, null, 2));
    process.stderr.write(`wrote ${args.json}\n`);
  }
}

main().catch((/** @type {unknown} */ err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
