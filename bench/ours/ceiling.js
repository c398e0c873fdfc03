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
 * The bare pipeline: 64-character strings echoed, UTF-8 in 128-byte entries of two rings; the
 * host stages entries and publishes every 8 and at the end of each burst, reads outcomes on
 * each turn of its event loop while any are due (it never parks: a spin on the host that the
 * runtime may not do, see DESIGN.md), the worker spins 2,000 loads before it parks. What it
 * reaches is the ceiling of "pipelined embedded ÷ postMessage" on this machine.
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRuntime } from 'plugin-seam';
import { bounded, settle, timePipelined } from '../lib/drive.js';
import { median } from '../lib/stats.js';
import { exitQuietlyOnEpipe } from '../lib/stdout.js';
import { PAYLOAD, openPeer } from '../peers/clients.js';
import { messageClient, openSmall } from './clients.js';

const ENTRIES = 256;
const ENTRY_BYTES = 128;
const PUBLISH_EVERY = 8;
const WORKER_SPINS = 2000;
/** Words of the control block. */
const SUBMIT_TAIL = 0;
const COMPLETE_TAIL = 1;
const WORKER_PARKED = 2;
const STOP = 3;
const CONTROL_BYTES = 64;

if (isMainThread) await main();
else serve();

async function main() {
  exitQuietlyOnEpipe();
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' }, ms: { type: 'string', default: '400' } } });
  const reps = Number(values.reps);
  const ms = Number(values.ms);
  const runtime = createRuntime();
  const bare = await openBare();
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

/** The host end of the bare pipeline. */
async function openBare() {
  const sab = new SharedArrayBuffer(CONTROL_BYTES + 2 * ENTRIES * ENTRY_BYTES);
  const control = new Int32Array(sab, 0, CONTROL_BYTES / 4);
  const submitAreas = Array.from({ length: ENTRIES }, (_, i) => new Uint8Array(sab, CONTROL_BYTES + i * ENTRY_BYTES + 1, ENTRY_BYTES - 1));
  const submitLengths = new Uint8Array(sab, CONTROL_BYTES, ENTRIES * ENTRY_BYTES);
  const complete = Buffer.from(sab, CONTROL_BYTES + ENTRIES * ENTRY_BYTES, ENTRIES * ENTRY_BYTES);
  const worker = new Worker(new URL(import.meta.url), { workerData: { sab } });
  await bounded(
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }),
    10_000,
    'bare pipeline worker start',
  );
  /** @type {((value: string) => void)[]} */
  const resolvers = new Array(ENTRIES);
  const utf8 = new TextEncoder();
  let tail = 0;
  let staged = 0;
  let head = 0;
  let publishQueued = false;
  let readQueued = false;
  const publish = () => {
    publishQueued = false;
    staged = 0;
    Atomics.store(control, SUBMIT_TAIL, tail);
    if (Atomics.load(control, WORKER_PARKED) === 1) Atomics.notify(control, WORKER_PARKED);
    queueRead();
  };
  const queueRead = () => {
    if (readQueued) return;
    readQueued = true;
    setImmediate(read);
  };
  const read = () => {
    readQueued = false;
    const end = Atomics.load(control, COMPLETE_TAIL);
    while (head !== end) {
      const index = head % ENTRIES;
      const at = index * ENTRY_BYTES;
      const value = complete.toString('utf8', at + 1, at + 1 + (complete[at] ?? 0));
      const resolve = resolvers[index];
      head += 1;
      resolve?.(value);
    }
    if (head !== tail) queueRead();
  };
  /** @returns {Promise<string>} */
  const call = () =>
    new Promise((resolve) => {
      const index = tail % ENTRIES;
      const { written } = utf8.encodeInto(PAYLOAD, /** @type {Uint8Array} */ (submitAreas[index]));
      submitLengths[index * ENTRY_BYTES] = written;
      resolvers[index] = resolve;
      tail += 1;
      staged += 1;
      if (staged >= PUBLISH_EVERY) publish();
      else if (!publishQueued) {
        publishQueued = true;
        queueMicrotask(publish);
      }
    });
  const close = async () => {
    Atomics.store(control, STOP, 1);
    Atomics.notify(control, WORKER_PARKED);
    await worker.terminate();
  };
  return { call, close };
}

/** The worker end: echoes each string back. */
function serve() {
  const { sab } = /** @type {{ sab: SharedArrayBuffer }} */ (workerData);
  const control = new Int32Array(sab, 0, CONTROL_BYTES / 4);
  const submit = Buffer.from(sab, CONTROL_BYTES, ENTRIES * ENTRY_BYTES);
  const completeAreas = Array.from({ length: ENTRIES }, (_, i) => new Uint8Array(sab, CONTROL_BYTES + (ENTRIES + i) * ENTRY_BYTES + 1, ENTRY_BYTES - 1));
  const completeLengths = new Uint8Array(sab, CONTROL_BYTES + ENTRIES * ENTRY_BYTES, ENTRIES * ENTRY_BYTES);
  const utf8 = new TextEncoder();
  /** @param {string} message */
  const plugin = (message) => message;
  parentPort?.postMessage('ready');
  let head = 0;
  let tail = 0;
  while (Atomics.load(control, STOP) === 0) {
    let end = Atomics.load(control, SUBMIT_TAIL);
    for (let spins = 0; end === head && spins < WORKER_SPINS; spins++) end = Atomics.load(control, SUBMIT_TAIL);
    if (end === head) {
      Atomics.store(control, WORKER_PARKED, 1);
      if (Atomics.load(control, SUBMIT_TAIL) === head && Atomics.load(control, STOP) === 0) Atomics.wait(control, WORKER_PARKED, 1, 100);
      Atomics.store(control, WORKER_PARKED, 0);
      continue;
    }
    while (head !== end) {
      const at = (head % ENTRIES) * ENTRY_BYTES;
      const message = submit.toString('utf8', at + 1, at + 1 + (submit[at] ?? 0));
      head += 1;
      const index = tail % ENTRIES;
      const { written } = utf8.encodeInto(plugin(message), /** @type {Uint8Array} */ (completeAreas[index]));
      completeLengths[index * ENTRY_BYTES] = written;
      tail += 1;
    }
    Atomics.store(control, COMPLETE_TAIL, tail);
  }
}
