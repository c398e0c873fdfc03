// @ts-check
/**
 * Shared-memory layout of the SAB slot ring used by the Atomics peers
 * (host: sab-ring.js, worker: workers/sab-ring-worker.js).
 *
 * Int32 control words at the start of the buffer:
 *   [0] submitted  - requests published by the host (host writes, worker waits)
 *   [1] completed  - requests finished by the worker (worker writes, host waitAsync)
 *   [2] stop       - host sets 1 to ask the worker to exit
 *   [16 + 2*i]     - slot i tag   (host writes, e.g. request id)
 *   [16 + 2*i + 1] - slot i result (worker writes)
 * followed by `slots` data slots of `slotBytes` each (64-byte aligned).
 */
export const SUBMITTED = 0;
export const COMPLETED = 1;
export const STOP = 2;
export const PER_SLOT = 16;

/** @param {number} n @param {number} a */
const align = (n, a) => Math.ceil(n / a) * a;

/**
 * @param {number} slots
 * @param {number} slotBytes
 */
export function ringLayout(slots, slotBytes) {
  const ctlInts = PER_SLOT + 2 * slots;
  const dataOffset = align(ctlInts * 4, 64);
  const stride = align(Math.max(slotBytes, 64), 64);
  return { slots, slotBytes, ctlInts, dataOffset, stride, totalBytes: dataOffset + stride * slots };
}
