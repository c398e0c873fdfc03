#!/usr/bin/env node
// @ts-check
/**
 * What each thread of the host process (and, in isolated mode, of the plugin's process)
 * spends per input: CPU time, time runnable but waiting for a core, and voluntary context
 * switches (the thread blocked), from Linux's /proc/<pid>/task/<tid>/{schedstat,status}. A
 * diagnostic, not a benchmark with peers: it is what showed that an embedded worker woken by
 * `Atomics.notify` on one core blocked twice per round trip (src/transport/futexDoorbell.ts).
 *
 *   node bench/ours/threads-per-input.js [case] [--mode embedded|isolated|inline] [--seconds 1]
 *   taskset -c 0 node bench/ours/threads-per-input.js frame-rt      # the whole tree on one core
 *
 * cases: frame-rt, message-rt (one input in flight), frame-pipe, message-pipe (64 in flight).
 * Threads using under 0.1 µs per input are left out.
 */
import { readFileSync, readdirSync } from 'node:fs';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { createRuntime } from 'plugin-seam';
import { timePipelined, timeRoundTrips } from '../lib/drive.js';
import { ConnectFeeder, PIPELINE_DEPTH, frameClient, messageClient, openSmall } from './clients.js';
import { exitQuietlyOnEpipe } from '../lib/stdout.js';

exitQuietlyOnEpipe();

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { mode: { type: 'string', default: 'embedded' }, seconds: { type: 'string', default: '1' } },
});
const which = positionals[0] ?? 'frame-rt';
const mode = values.mode === 'inline' || values.mode === 'isolated' ? values.mode : 'embedded';
const durationMs = Number(values.seconds) * 1000;

/** @typedef {{ name: string, runNs: number, waitNs: number, voluntary: number }} ThreadSample */

/** This process and its children (the plugin's process in isolated mode). */
function processes() {
  const pids = [process.pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of stat, after the parenthesised command name (which may hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** @returns {Map<string, ThreadSample>} */
function sample() {
  /** @type {Map<string, ThreadSample>} */
  const threads = new Map();
  for (const pid of processes()) {
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const [runNs = 0, waitNs = 0] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
        const voluntary = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
        const who = pid === process.pid ? (Number(tid) === pid ? 'host main' : `host thread ${tid}`) : Number(tid) === pid ? `plugin process ${pid}` : `plugin process thread ${tid}`;
        threads.set(`${pid}/${tid}`, { name: who, runNs, waitNs, voluntary });
      } catch {
        // Ended meanwhile.
      }
    }
  }
  return threads;
}

const runtime = createRuntime();
try {
  const p = await openSmall(runtime, mode);
  const feeder = new ConnectFeeder(p);
  const client = which.startsWith('message') ? messageClient(p) : frameClient(p, feeder);
  const pipelined = which.endsWith('-pipe');
  let inputs = 0;
  /** @param {number} seq */
  const call = (seq) => {
    inputs += 1;
    return client.call(seq);
  };
  // Warm-up, then one measured run; a round-trip run is sized from the warm-up's rate.
  const warmStart = performance.now();
  if (pipelined) await timePipelined(client.call, { inFlight: PIPELINE_DEPTH, warmupMs: 300, durationMs: 100, reps: 1, timeoutMs: 60_000 });
  else await timeRoundTrips(client.call, { warmup: 3000, trips: 100, reps: 1, timeoutMs: 60_000 });
  const tripMs = (performance.now() - warmStart) / 3100;
  const before = sample();
  const t0 = performance.now();
  const result = pipelined
    ? await timePipelined(call, { inFlight: PIPELINE_DEPTH, warmupMs: 0, durationMs, reps: 1, timeoutMs: 60_000 })
    : await timeRoundTrips(call, { warmup: 0, trips: Math.max(1000, Math.round(durationMs / tripMs)), reps: 1, timeoutMs: 60_000 });
  const elapsedMs = performance.now() - t0;
  const after = sample();
  const headline = 'p50Us' in result ? `p50 ${result.p50Us.toFixed(1)} µs` : `${Math.round(result.opsPerSec)} /s`;
  process.stdout.write(`${mode} ${which}: ${headline}; ${inputs} inputs, ${((elapsedMs * 1000) / inputs).toFixed(2)} µs of wall time each\n`);
  process.stdout.write('thread                         cpu µs  wait µs  blocked (voluntary switches)   per input\n');
  for (const [key, end] of after) {
    const start = before.get(key);
    if (start === undefined) continue;
    const run = (end.runNs - start.runNs) / 1000 / inputs;
    if (run < 0.1) continue;
    const wait = (end.waitNs - start.waitNs) / 1000 / inputs;
    const blocked = (end.voluntary - start.voluntary) / inputs;
    process.stdout.write(`${end.name.padEnd(30)} ${run.toFixed(2).padStart(6)}  ${wait.toFixed(2).padStart(7)}  ${blocked.toFixed(2).padStart(7)}\n`);
  }
  feeder.close();
} finally {
  await runtime.shutdown();
}
