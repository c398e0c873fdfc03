// @ts-check
/**
 * A bare shared-memory pipeline between the main thread and a worker, with none of the
 * runtime's work (no lifecycle, no generations, no validation of what the peer wrote, no
 * counters, no fences), in the shape of the peers' clients (`{ name, call, close }`): how far
 * pipelined small inputs can go on the machine at hand with the benchmark's harness (a promise
 * per input, 64 lanes), whatever a runtime does. `node bench/ours/ceiling.js` and `npm run
 * bench` (its info rows) measure it next to raw `postMessage` and our embedded instance.
 *
 * 64-character strings echoed, UTF-8 in 128-byte entries of two rings; the host stages entries
 * and publishes every 8 and at the end of each burst, reads outcomes on each turn of its event
 * loop while any are due (it never parks: a spin on the host that the runtime may not do, see
 * DESIGN.md), the worker spins 2,000 loads before it parks. This module is its own worker.
 */
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { bounded } from '../lib/drive.js';
import { PAYLOAD } from '../peers/clients.js';

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

/** What the host hands its worker: the marker says this module is that worker. */
const WORKER_MARK = 'bare-pipeline';

if (!isMainThread && (/** @type {{ mark?: unknown } | undefined} */ (workerData))?.mark === WORKER_MARK) serve();

/**
 * The host end of the bare pipeline.
 * @returns {Promise<{ name: string, call: () => Promise<string>, close: () => Promise<void> }>}
 */
export async function openBarePipeline() {
  const sab = new SharedArrayBuffer(CONTROL_BYTES + 2 * ENTRIES * ENTRY_BYTES);
  const control = new Int32Array(sab, 0, CONTROL_BYTES / 4);
  const submitAreas = Array.from({ length: ENTRIES }, (_, i) => new Uint8Array(sab, CONTROL_BYTES + i * ENTRY_BYTES + 1, ENTRY_BYTES - 1));
  const submitLengths = new Uint8Array(sab, CONTROL_BYTES, ENTRIES * ENTRY_BYTES);
  const complete = Buffer.from(sab, CONTROL_BYTES + ENTRIES * ENTRY_BYTES, ENTRIES * ENTRY_BYTES);
  const worker = new Worker(new URL(import.meta.url), { workerData: { sab, mark: WORKER_MARK } });
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
  return { name: 'bare SAB pipeline', call, close };
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
