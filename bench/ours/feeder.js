// @ts-check
/**
 * Drivers for our runtime's frame path: push frames into `p.connect(frames$)` and hand each
 * outcome back to whoever submitted that frame. The frames$ is a plain Observable whose one
 * subscriber the feeder keeps and calls: a Subject would cost every frame a closure and a
 * walk over its observer list (rxjs 7's Subject.next), ~4 % of the host's time at 64 in
 * flight — the application's choice of source, not the runtime's work.
 *
 * Outcomes of one connect() arrive in submission order (inputs run one at a time, in
 * order, and every path settles them in that order); the feeder relies on it and checks
 * it: an outcome whose seq does not increase, or any outcome other than `done`, fails the
 * measurement instead of silently skewing it.
 */
import { Observable } from 'rxjs';
import { nowUs } from '../lib/stats.js';

/**
 * @typedef {import('plugin-seam').FrameInput} FrameInput
 * @typedef {import('plugin-seam').FrameOutcome} FrameOutcome
 * @typedef {import('plugin-seam').PluginInstance} PluginInstance
 * @typedef {(outcome: FrameOutcome) => void} OutcomeFn
 */

export class ConnectFeeder {
  /** @type {import('rxjs').Subscriber<FrameInput>} the one subscriber of the frames$ handed to connect() */
  #frames;
  /** @type {OutcomeFn[]} FIFO of the submitters waiting for an outcome */
  #waiting = [];
  #head = 0;
  #lastSeq = 0;
  /** @type {Error | null} */
  #failed = null;
  /** @type {import('rxjs').Subscription} */
  #subscription;

  /** @param {PluginInstance} instance */
  constructor(instance) {
    /** @type {import('rxjs').Subscriber<FrameInput> | undefined} */
    let sink;
    const frames$ = new Observable((/** @type {import('rxjs').Subscriber<FrameInput>} */ subscriber) => {
      sink = subscriber;
    });
    this.#subscription = instance.connect(frames$).subscribe({
      next: (outcome) => {
        if (outcome.seq <= this.#lastSeq) this.#fail(new Error(`outcome of frame ${outcome.seq} after ${this.#lastSeq}: out of order`));
        this.#lastSeq = outcome.seq;
        const fn = this.#waiting[this.#head];
        this.#waiting[this.#head++] = noop;
        if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
          this.#waiting.splice(0, this.#head);
          this.#head = 0;
        }
        fn?.(outcome);
      },
      error: (/** @type {unknown} */ err) => {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      },
    });
    // connect() subscribes to frames$ as it is subscribed to, synchronously.
    if (sink === undefined) throw new Error('ConnectFeeder: connect() did not subscribe to its frames');
    this.#frames = sink;
  }

  /** The first failure (out-of-order outcome, stream error), if any. */
  get failed() {
    return this.#failed;
  }

  /**
   * Submits one frame; `onOutcome` gets its outcome.
   * @param {FrameInput} frame
   * @param {OutcomeFn} onOutcome
   */
  push(frame, onOutcome) {
    this.#waiting.push(onOutcome);
    this.#frames.next(frame);
  }

  /**
   * Submits one frame; resolves on `done`, rejects on any other outcome.
   * @param {FrameInput} frame
   * @returns {Promise<FrameOutcome>}
   */
  submit(frame) {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.push(frame, (o) => {
        if (o.kind === 'done') resolve(o);
        else reject(outcomeError(o));
      });
    });
  }

  close() {
    this.#frames.complete();
    this.#subscription.unsubscribe();
  }

  /** @param {Error} err */
  #fail(err) {
    this.#failed ??= err;
  }
}

function noop() {}

/** @param {FrameOutcome} o */
function outcomeError(o) {
  return new Error(`frame ${o.seq}: ${o.kind}${o.reason ? ` (${o.reason})` : ''}`);
}

/**
 * @typedef {object} FixedCountOptions
 * @property {number} count   frames per repetition
 * @property {number} depth   frames kept in flight
 * @property {(i: number) => FrameInput | Promise<FrameInput>} make the i-th frame (a slot from
 *   acquire() for zero copy, or the application's own buffer for one copy)
 */

/**
 * Feeds `count` frames keeping `depth` in flight (each outcome releases the next frame) and
 * returns the µs from the first submit to the last outcome.
 * @param {ConnectFeeder} feeder
 * @param {FixedCountOptions} o
 * @returns {Promise<number>}
 */
export function feedFixedCount(feeder, { count, depth, make }) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let done = 0;
    let failed = false;
    const t0 = nowUs();
    /** @param {unknown} err */
    const fail = (err) => {
      if (failed) return;
      failed = true;
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    /** @param {FrameOutcome} o */
    const onOutcome = (o) => {
      if (failed) return;
      if (o.kind !== 'done') {
        fail(outcomeError(o));
        return;
      }
      done++;
      if (done === count) {
        const elapsed = nowUs() - t0;
        if (feeder.failed) fail(feeder.failed);
        else resolve(elapsed);
        return;
      }
      issue();
    };
    const issue = () => {
      if (issued >= count || failed) return;
      const frame = make(issued++);
      if (frame instanceof Promise) {
        frame.then((f) => {
          feeder.push(f, onOutcome);
        }, fail);
      } else {
        feeder.push(frame, onOutcome);
      }
    };
    for (let k = 0; k < Math.min(depth, count); k++) issue();
  });
}

/**
 * Warm-up that also fixes the count of a repetition: runs doubling batches until one lasts a
 * quarter of `warmupMs`, then repeats that count until two batches in a row agree on the rate
 * (within 25 %), having spent `warmupMs` in all (at most ten times that), and returns count ≈
 * the faster of those two rates × `durationMs` (at least 4 × depth). At least three batches:
 * the first ones pay for JIT warm-up and first-touch page faults of fresh slots. Two that
 * agree, because one batch caught in a stall (a GC, the machine's other tenants) once made a
 * repetition of 16 frames, timed mostly as pipeline fill.
 * @param {ConnectFeeder} feeder
 * @param {FixedCountOptions['make']} make
 * @param {{ depth: number, warmupMs: number, durationMs: number }} o
 * @returns {Promise<number>}
 */
export async function calibrateCount(feeder, make, o) {
  const warmUs = o.warmupMs * 1000;
  let count = Math.max(o.depth, 4);
  let rate = 0;
  let previous = 0;
  let spent = 0;
  for (let batch = 1; ; batch++) {
    const us = await feedFixedCount(feeder, { count, depth: o.depth, make });
    spent += us;
    const long = us >= warmUs / 4;
    if (!long) {
      count *= 2;
      continue;
    }
    // Long batches only, all of the same count from here on.
    previous = rate;
    rate = count / (us / 1e6);
    const agree = previous > 0 && Math.abs(rate - previous) <= 0.25 * Math.max(rate, previous);
    if (batch >= 3 && spent >= warmUs && (agree || spent >= 10 * warmUs)) break;
  }
  return Math.max(o.depth * 4, Math.round((Math.max(rate, previous) * o.durationMs) / 1000));
}
