// @ts-check
/**
 * Host side of the SAB slot ring: the worker parks in Atomics.wait, the host
 * parks in Atomics.waitAsync (its event loop is never blocked).
 */
import { URL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { COMPLETED, PER_SLOT, STOP, SUBMITTED, ringLayout } from './sab-layout.js';
import { bounded } from '../lib/drive.js';

const WORKER_URL = new URL('./workers/sab-ring-worker.js', import.meta.url);

/**
 * @typedef {object} SabRingOptions
 * @property {number} slots        ring size = max requests in flight
 * @property {number} slotBytes    data bytes per slot (0 for tag-only echo)
 * @property {'echo' | 'touch'} mode worker replies tag+1, or touches the slot
 * @property {number} [waitTimeoutMs] bound of each host waitAsync (default 10000)
 * @property {boolean} [coalesceWakes] defer the worker wake-up to a microtask queued
 *   behind the current ones, so a burst of submits (e.g. all continuations
 *   released by one completion batch) costs one Atomics.notify (default true)
 * @property {number} [startTimeoutMs] (default 10000)
 */

export class SabRing {
  /** @type {Worker} */ #worker;
  /** @type {Int32Array} */ #ctl;
  /** @type {Uint8Array[]} per-slot data views */ slotViews;
  #slots;
  #waitTimeoutMs;
  #submitted = 0;
  #completedSeen = 0;
  /** @type {{ resolve: (v: number) => void, reject: (e: Error) => void }[]} FIFO */
  #pending = [];
  #pumping = false;
  #coalesce;
  #wakeScheduled = false;
  /** @type {Error | null} */ #failed = null;

  /**
   * @param {Worker} worker
   * @param {SharedArrayBuffer} sab
   * @param {ReturnType<typeof ringLayout>} L
   * @param {number} waitTimeoutMs
   * @param {boolean} coalesce
   */
  constructor(worker, sab, L, waitTimeoutMs, coalesce) {
    this.#coalesce = coalesce;
    this.#worker = worker;
    this.#ctl = new Int32Array(sab, 0, L.ctlInts);
    this.#slots = L.slots;
    this.#waitTimeoutMs = waitTimeoutMs;
    this.slotViews = Array.from({ length: L.slots }, (_, i) => new Uint8Array(sab, L.dataOffset + i * L.stride, L.slotBytes));
    worker.on('error', (err) => {
      this.#fail(err);
    });
    worker.on('exit', () => {
      this.#fail(new Error('sab-ring worker exited'));
    });
  }

  /**
   * Start the worker and wait for it to be parked.
   * @param {SabRingOptions} opts
   */
  static async open(opts) {
    const L = ringLayout(opts.slots, opts.slotBytes);
    const sab = new SharedArrayBuffer(L.totalBytes);
    const worker = new Worker(WORKER_URL, {
      workerData: { sab, slots: opts.slots, slotBytes: opts.slotBytes, mode: opts.mode, idleWaitMs: 1000 },
    });
    await bounded(
      new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
      opts.startTimeoutMs ?? 10000,
      'sab-ring worker start',
    );
    return new SabRing(worker, sab, L, opts.waitTimeoutMs ?? 10000, opts.coalesceWakes ?? true);
  }

  /** Requests published but not yet resolved. */
  get inFlight() {
    return this.#submitted - this.#completedSeen;
  }

  /**
   * Slot that the next submit() will publish (free while inFlight < slots).
   * Write the payload into `slotViews[nextSlot]` before calling submit().
   */
  get nextSlot() {
    return this.#submitted % this.#slots;
  }

  /**
   * Publish the next slot with `tag`; resolves with the worker's result
   * (tag + 1 in echo mode, the touch sum in touch mode).
   * @param {number} tag
   * @returns {Promise<number>}
   */
  submit(tag) {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.inFlight >= this.#slots) return Promise.reject(new Error('sab-ring: more requests in flight than slots'));
    const ctl = this.#ctl;
    ctl[PER_SLOT + 2 * (this.#submitted % this.#slots)] = tag;
    /** @type {Promise<number>} */
    const p = new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
    });
    Atomics.store(ctl, SUBMITTED, ++this.#submitted);
    if (this.#coalesce) {
      if (!this.#wakeScheduled) {
        this.#wakeScheduled = true;
        globalThis.queueMicrotask(this.#wake);
      }
    } else {
      Atomics.notify(ctl, SUBMITTED, 1);
    }
    if (!this.#pumping) this.#pump();
    return p;
  }

  /** One futex wake for all submits made in the same microtask burst. */
  #wake = () => {
    this.#wakeScheduled = false;
    Atomics.notify(this.#ctl, SUBMITTED, 1);
  };

  /** Resolve finished requests; park in waitAsync while any are pending. */
  #pump() {
    this.#pumping = true;
    const ctl = this.#ctl;
    for (;;) {
      if (this.#failed) {
        this.#pumping = false;
        return;
      }
      const completed = Atomics.load(ctl, COMPLETED);
      while (this.#completedSeen !== completed) {
        const i = this.#completedSeen % this.#slots;
        this.#completedSeen++;
        this.#pending.shift()?.resolve(ctl[PER_SLOT + 2 * i + 1]);
      }
      if (this.#pending.length === 0) {
        this.#pumping = false;
        return;
      }
      const w = Atomics.waitAsync(ctl, COMPLETED, completed, this.#waitTimeoutMs);
      if (w.async) {
        void w.value.then((/** @type {string} */ outcome) => {
          if (outcome === 'timed-out') this.#fail(new Error(`sab-ring: no reply within ${this.#waitTimeoutMs} ms`));
          this.#pump();
        });
        return;
      }
      // 'not-equal': completed moved meanwhile, loop again
    }
  }

  /** @param {Error} err */
  #fail(err) {
    if (this.#failed) return;
    this.#failed = err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  /** Ask the worker to exit; terminate it if it does not within 5 s. */
  async close() {
    const ctl = this.#ctl;
    const exited =
      this.#worker.threadId === -1 ? Promise.resolve() : new Promise((resolve) => this.#worker.once('exit', resolve));
    Atomics.store(ctl, STOP, 1);
    Atomics.notify(ctl, SUBMITTED);
    this.#fail(new Error('sab-ring closed'));
    Atomics.notify(ctl, COMPLETED); // wake our own waitAsync, if parked
    try {
      await bounded(exited, 5000, 'sab-ring worker exit');
    } catch {
      await this.#worker.terminate();
    }
  }
}
