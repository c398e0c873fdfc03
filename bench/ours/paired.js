#!/usr/bin/env node
// @ts-check
/**
 * Two builds of the runtime in one process, pipelined small messages (64 in flight), each
 * repetition running A and B back to back (the order alternating) and a peer every third: the
 * ratio B ÷ A of each pair, then their median and quartiles. On a machine whose speed flips
 * between repetitions (this VM's two vCPUs run in two modes, see README "Measured costs"),
 * two separate runs of `npm run bench` differ by more than most changes; two repetitions a
 * few ms apart mostly fall in one mode, so their ratio does not. An A/A run (the same build
 * twice) shows what is noise: ±5–8 % between quartiles here.
 *
 *   node bench/ours/paired.js --a <dist dir> --b <dist dir> [--reps 21] [--ms 100] [--modes embedded,isolated]
 *
 * A build is a directory holding `index.js` (a `dist/` of `npm run build`, or of
 * `npx tsc -p tsconfig.build.json --outDir DIR` on another checkout), inside a package root:
 * the runtime finds its addon from the nearest `package.json` named plugin-seam, so a second
 * build lives in a directory of its own with a copy of `package.json` and links to this
 * checkout's `native/`, `prebuilds/` and `node_modules/` (without them isolated mode runs its
 * copy transport). The peers: raw `postMessage` for embedded, `process.send` json for isolated.
 */
import { resolve } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { settle, timePipelined } from '../lib/drive.js';
import { median } from '../lib/stats.js';
import { exitQuietlyOnEpipe } from '../lib/stdout.js';
import { openPeer } from '../peers/clients.js';
import { messageClient, openSmall } from './clients.js';

exitQuietlyOnEpipe();

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    reps: { type: 'string', default: '21' },
    ms: { type: 'string', default: '100' },
    modes: { type: 'string', default: 'embedded,isolated' },
  },
});
if (values.a === undefined || values.b === undefined) {
  process.stderr.write('usage: paired.js --a <dist dir> --b <dist dir> [--reps 21] [--ms 100] [--modes embedded,isolated]\n');
  process.exit(2);
}
const reps = Number(values.reps);
const ms = Number(values.ms);
const modes = values.modes.split(',').map((m) => (m === 'isolated' ? 'isolated' : 'embedded'));

/**
 * @param {string} dir
 * @returns {Promise<typeof import('plugin-seam')>}
 */
async function build(dir) {
  return /** @type {typeof import('plugin-seam')} */ (await import(pathToFileURL(resolve(dir, 'index.js')).href));
}

/** @param {number} warmupMs @param {number} durationMs */
const window = (warmupMs, durationMs) => ({ inFlight: 64, warmupMs, durationMs, reps: 1, timeoutMs: 30_000 });

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
}

const runtimeA = (await build(values.a)).createRuntime();
const runtimeB = (await build(values.b)).createRuntime();
try {
  for (const mode of modes) {
    const peer = await openPeer(mode === 'embedded' ? 'postmessage' : 'fork-json');
    try {
      const a = messageClient(await openSmall(runtimeA, mode)).call;
      const b = messageClient(await openSmall(runtimeB, mode)).call;
      for (const call of [a, b, peer.call]) await timePipelined(call, window(300, 50));
      /** @type {number[]} */
      const ratesA = [];
      /** @type {number[]} */
      const ratesB = [];
      /** @type {number[]} */
      const ratesPeer = [];
      for (let r = 0; r < reps; r++) {
        /** @type {[typeof a, number[]][]} */
        const pair = [
          [a, ratesA],
          [b, ratesB],
        ];
        if (r % 2 === 1) pair.reverse();
        for (const [call, rates] of pair) {
          await settle(5);
          rates.push((await timePipelined(call, window(10, ms))).opsPerSec);
        }
        if (r % 3 === 0) {
          await settle(5);
          ratesPeer.push((await timePipelined(peer.call, window(10, ms))).opsPerSec);
        }
      }
      const ratios = ratesA.map((rate, i) => (ratesB[i] ?? Number.NaN) / rate);
      const k = (/** @type {number} */ rate) => `${Math.round(rate / 1000)}k/s`;
      const peerRate = median(ratesPeer);
      process.stdout.write(
        `${mode} messages: A ${k(median(ratesA))}, B ${k(median(ratesB))}, ${peer.name} ${k(peerRate)}; ` +
          `B ÷ A paired: median ${median(ratios).toFixed(3)} (quartiles ${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}); ` +
          `÷ peer: A ${(median(ratesA) / peerRate).toFixed(2)}, B ${(median(ratesB) / peerRate).toFixed(2)}\n`,
      );
    } finally {
      await peer.close();
    }
  }
} finally {
  await runtimeA.shutdown();
  await runtimeB.shutdown();
}
