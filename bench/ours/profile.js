#!/usr/bin/env node
// @ts-check
/**
 * One embedded-mode case, long enough to profile (every thread writes its own profile):
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/ours/profile.js <case> [seconds]
 *   node bench/lib/cpuprofile-top.js /tmp/prof/<file>.cpuprofile
 *
 * cases: frame-rt, message-rt (one in flight), frame-pipe, message-pipe (64 in flight),
 * 4k-zero-copy, 4k-one-copy (4 in flight). `--mode inline|isolated` profiles that mode instead.
 * Isolated mode: `--child-prof-dir <dir>` profiles the plugin's process too (a preload through
 * NODE_OPTIONS in its environment: bench/ours/profile-child-preload.js).
 */
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRuntime } from 'plugin-seam';
import { timePipelined, timeRoundTrips } from '../lib/drive.js';
import { ConnectFeeder, SHAPES, frameClient, frameMaker, messageClient, openLarge, openSmall } from './clients.js';
import { feedFixedCount } from './feeder.js';
import { exitQuietlyOnEpipe } from '../lib/stdout.js';

exitQuietlyOnEpipe();

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { mode: { type: 'string', default: 'embedded' }, 'child-prof-dir': { type: 'string' } },
});
const [which = 'frame-rt', secondsArg = '3'] = positionals;
const seconds = Number(secondsArg);
const mode = values.mode === 'inline' || values.mode === 'isolated' ? values.mode : 'embedded';
const childProf = values['child-prof-dir'];
const preload = fileURLToPath(new URL('./profile-child-preload.js', import.meta.url));
/** @type {Partial<import('plugin-seam').LoadOptions>} */
const extra =
  mode === 'isolated' && childProf ? { isolation: { env: { NODE_OPTIONS: `--import=${preload}`, BENCH_CHILD_PROF_DIR: childProf } } } : {};
const runtime = createRuntime();
try {
  if (which.startsWith('4k-')) {
    const p = await openLarge(runtime, mode, extra);
    const feeder = new ConnectFeeder(p);
    const make = frameMaker(p, SHAPES['4K'], which === '4k-zero-copy' ? 'zero-copy' : 'one-copy');
    let frames = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await feedFixedCount(feeder, { count: 200, depth: 4, make });
      frames += 200;
    }
    process.stdout.write(`${which}: ${Math.round(frames / ((performance.now() - t0) / 1000))} f/s\n`);
    feeder.close();
  } else {
    const p = await openSmall(runtime, mode, extra);
    const feeder = new ConnectFeeder(p);
    const client = which.startsWith('message') ? messageClient(p) : frameClient(p, feeder);
    if (which.endsWith('-pipe')) {
      const r = await timePipelined(client.call, { inFlight: 64, warmupMs: 200, durationMs: (seconds * 1000) / 3, reps: 3, timeoutMs: 60_000 });
      process.stdout.write(`${which}: ${Math.round(r.opsPerSec)} /s\n`);
    } else {
      const r = await timeRoundTrips(client.call, { warmup: 1000, trips: Math.round((seconds * 1e6) / 3 / 60), reps: 3, timeoutMs: 60_000 });
      process.stdout.write(`${which}: p50 ${r.p50Us.toFixed(1)} µs\n`);
    }
    feeder.close();
  }
} finally {
  await runtime.shutdown();
}
