#!/usr/bin/env node
// @ts-check
/**
 * CLI: peer baselines in two placements and print the tables.
 *
 *   node bench/peers/run.js [--placement both|default|pinned] [--json out.json]
 *                           [--quick] [--peers a,b] [--frames a,b] [--sizes 1KB,1080p]
 *                           [--no-frames] [--verbose]
 *
 * "default" runs in this process; "pinned" re-executes this script under
 * `taskset -c 0` (children and worker threads inherit the affinity) and
 * reads its results back through a temporary JSON file.
 */
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runPinned } from '../lib/pinned.js';
import { exitQuietlyOnEpipe } from '../lib/stdout.js';
import { fmtNum, formatTable } from '../lib/table.js';
import { FRAME_CASES, FRAME_SIZES, NOTES, PEERS, runPeers } from './index.js';

const SELF = fileURLToPath(import.meta.url);
exitQuietlyOnEpipe();
const PINNED_CHILD_TIMEOUT_MS = 120000;

const { values: args } = parseArgs({
  options: {
    placement: { type: 'string', default: 'both' },
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
    peers: { type: 'string' },
    frames: { type: 'string' },
    sizes: { type: 'string' },
    'no-frames': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});

/**
 * @template {string} T
 * @param {string | undefined} csv
 * @param {readonly T[]} allowed
 * @returns {T[] | undefined}
 */
function pick(csv, allowed) {
  if (csv === undefined) return undefined;
  const names = csv.split(',').filter(Boolean);
  for (const n of names) {
    if (!allowed.includes(/** @type {T} */ (n))) throw new Error(`unknown name "${n}"; expected one of ${allowed.join(', ')}`);
  }
  return /** @type {T[]} */ (names);
}

const sizeNames = /** @type {(keyof typeof FRAME_SIZES)[]} */ (Object.keys(FRAME_SIZES));
/** @type {import('./index.js').RunOptions} */
const runOpts = {
  quick: args.quick,
  log: args.verbose ? (line) => process.stderr.write(`  .. ${line}\n`) : () => undefined,
};
const peers = pick(args.peers, PEERS);
const frameCases = args['no-frames'] ? [] : pick(args.frames, FRAME_CASES);
const frameSizes = pick(args.sizes, sizeNames);
if (peers) runOpts.peers = peers;
if (frameCases) runOpts.frameCases = frameCases;
if (frameSizes) runOpts.frameSizes = frameSizes;

/** Forwarded to the pinned child. */
function passthroughArgs() {
  /** @type {string[]} */
  const out = [];
  if (args.quick) out.push('--quick');
  if (args.verbose) out.push('--verbose');
  if (args['no-frames']) out.push('--no-frames');
  for (const k of /** @type {const} */ (['peers', 'frames', 'sizes'])) {
    const v = args[k];
    if (v !== undefined) out.push(`--${k}`, v);
  }
  return out;
}

/**
 * Re-execute this script pinned to CPU 0 and return its PlacementResult.
 * @returns {Promise<import('./index.js').PlacementResult>}
 */
async function runPinnedPlacement() {
  return /** @type {import('./index.js').PlacementResult} */ (await runPinned(SELF, passthroughArgs(), PINNED_CHILD_TIMEOUT_MS));
}

/** @param {import('./index.js').PlacementResult} r */
function printPlacement(r) {
  const m = r.meta;
  const lines = [
    `== placement: ${r.placement} (cpus ${m.affinity || '?'}, availableParallelism ${m.availableParallelism}, ${m.node}, ` +
      `${m.seconds.toFixed(1)} s, load ${(m.loadavgStart[0] ?? 0).toFixed(1)}->${(m.loadavgEnd[0] ?? 0).toFixed(1)})`,
  ];
  const peerRows = Object.entries(r.peers).map(([name, p]) => [
    name,
    fmtNum(p.roundTrip?.p50Us),
    fmtNum(p.roundTrip?.p99Us),
    fmtNum(p.pipelined?.opsPerSec) + (p.error ? `  (${p.error})` : ''),
  ]);
  if (peerRows.length) {
    lines.push(formatTable(['peer', 'p50 µs', 'p99 µs', 'pipelined msg/s'], peerRows));
  }
  const cases = Object.keys(r.frames);
  if (cases.length) {
    const sizes = Object.keys(r.frames[cases[0]] ?? {});
    const header = ['frames, 4 in flight', ...sizes.flatMap((s) => [`${s} f/s`, 'MB/s'])];
    const rows = cases.map((c) => [
      c,
      ...sizes.flatMap((s) => {
        const f = r.frames[c]?.[s];
        if (!f || f.status !== 'ok') {
          return [f?.status === 'timeout' ? 'n/a (timeout)' : 'n/a', ''];
        }
        return [fmtNum(f.framesPerSec), fmtNum(f.mbPerSec)];
      }),
    ]);
    lines.push('', formatTable(header, rows));
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

async function main() {
  const placement = args.placement;
  if (args.child) {
    const r = await runPeers({ ...runOpts, placement });
    if (args.json) writeFileSync(args.json, JSON.stringify(r, null, 2));
    return;
  }
  if (!['both', 'default', 'pinned'].includes(placement)) throw new Error('--placement must be both|default|pinned');
  /** @type {Record<string, import('./index.js').PlacementResult>} */
  const placements = {};
  if (placement !== 'pinned') {
    process.stderr.write('running placement "default" ...\n');
    placements.default = await runPeers({ ...runOpts, placement: 'default' });
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
      schema: 'plugin-seam/bench-peers@1',
      date: new Date().toISOString(),
      units: { p50Us: 'µs', p99Us: 'µs', opsPerSec: 'messages/s', framesPerSec: 'frames/s', mbPerSec: '1e6 B/s' },
      notes: NOTES,
      placements,
    };
    writeFileSync(args.json, JSON.stringify(doc, null, 2));
    process.stderr.write(`wrote ${args.json}\n`);
  }
}

main().catch((/** @type {unknown} */ err) => {
  process.stderr.write(`bench:peers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
