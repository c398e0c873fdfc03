// @ts-check
/**
 * Worker side of the SAB slot ring. Parks in Atomics.wait (bounded, then
 * re-checks the stop flag) until the host publishes requests, processes
 * them in order, publishes `completed` and notifies the host.
 * workerData: { sab, slots, slotBytes, mode: 'echo' | 'touch', idleWaitMs }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { COMPLETED, PER_SLOT, STOP, SUBMITTED, ringLayout } from '../sab-layout.js';
import { touch } from './touch.js';

/** @type {{ sab: SharedArrayBuffer, slots: number, slotBytes: number, mode: 'echo' | 'touch', idleWaitMs: number }} */
const cfg = workerData;
const L = ringLayout(cfg.slots, cfg.slotBytes);
const ctl = new Int32Array(cfg.sab, 0, L.ctlInts);
const u8 = new Uint8Array(cfg.sab);
const touchMode = cfg.mode === 'touch';

let processed = 0;
parentPort?.postMessage('ready');
for (;;) {
  const submitted = Atomics.load(ctl, SUBMITTED);
  if (submitted === processed) {
    if (Atomics.load(ctl, STOP) !== 0) break;
    Atomics.wait(ctl, SUBMITTED, processed, cfg.idleWaitMs);
    continue;
  }
  while (processed !== submitted) {
    const i = processed % L.slots;
    const tagIdx = PER_SLOT + 2 * i;
    ctl[tagIdx + 1] = touchMode ? touch(u8, L.dataOffset + i * L.stride, L.slotBytes) : (ctl[tagIdx] + 1) | 0;
    processed++;
    Atomics.store(ctl, COMPLETED, processed);
  }
  Atomics.notify(ctl, COMPLETED);
}
