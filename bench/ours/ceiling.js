#!/usr/bin/env node
// @ts-check
/**
 * How far pipelined small inputs can go on this machine with the benchmark's harness (a
 * promise per input, 64 lanes), whatever the runtime does: a bare shared-memory pipeline
 * between the main thread and a worker, with none of the runtime's work (no lifecycle, no
 * generations, no validation of what the peer wrote, no counters, no fences), next to raw
 * `postMessage` and our embedded instance, repetitions interleaved in one process.
 *
 *   node bench/ours/ceiling.js [--reps 7] [--ms 400]
 *
 * The bare pipeline is bench/ours/barePipeline.js. What it reaches is the ceiling of
 * "pipelined embedded ÷ postMessage" on this machine.
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { createRuntime } from 'plugin-seam';
import { settle, timePipelined } from '../lib/drive.js';
import { median } from '../lib/stats.js';
import { exitQuietlyOnEpipe } from '../lib/stdout.js';
import { openPeer } from '../peers/clients.js';
import { openBarePipeline } from './barePipeline.js';
import { messageClient, openSmall } from './clients.js';

await main();

async function main() {
  exitQuietlyOnEpipe();
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' }, ms: { type: 'string', default: '400' } } });
  const reps = Number(values.reps);
  const ms = Number(values.ms);
  const runtime = createRuntime();
  const bare = await openBarePipeline();
  const postMessage = await openPeer('postmessage');
  const embedded = messageClient(await openSmall(runtime, 'embedded'));
  const clients = [
    { name: 'bare SAB pipeline', call: bare.call },
    { name: 'raw postMessage', call: postMessage.call },
    { name: 'embedded message', call: embedded.call },
  ];
  /** @type {number[][]} */
  const rates = clients.map(() => []);
  try {
    for (const client of clients) await timePipelined(client.call, { inFlight: 64, warmupMs: 200, durationMs: 50, reps: 1, timeoutMs: 30_000 });
    for (let r = 0; r < reps; r++) {
      for (const [i, client] of clients.entries()) {
        await settle(10);
        const result = await timePipelined(client.call, { inFlight: 64, warmupMs: 20, durationMs: ms, reps: 1, timeoutMs: 30_000 });
        rates[i]?.push(result.opsPerSec);
      }
    }
  } finally {
    await bare.close();
    await postMessage.close();
    await runtime.shutdown();
  }
  const medians = rates.map((r) => median(r));
  const pm = medians[1] ?? NaN;
  process.stdout.write(`pipelined small inputs, 64 in flight, median of ${reps} interleaved reps of ${ms} ms\n`);
  for (const [i, client] of clients.entries()) {
    const rate = medians[i] ?? NaN;
    process.stdout.write(`  ${client.name.padEnd(18)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} /s  ÷ postMessage ${(rate / pm).toFixed(2)}\n`);
  }
  process.stdout.write(`  embedded ÷ bare SAB pipeline ${((medians[2] ?? NaN) / (medians[0] ?? NaN)).toFixed(2)}\n`);
}
