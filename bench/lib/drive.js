// @ts-check
/**
 * Generic timing drivers, independent of what is being measured. They take
 * an async operation `op(seq)` and time it; the peer baselines and our own
 * adapter benchmarks both use them so that numbers are comparable.
 *
 * Every driver is bounded by a wall-clock deadline (`timeoutMs`); on expiry
 * it stops issuing work and rejects with a BenchTimeoutError. The caller is
 * then expected to close the resource under test (which should reject any
 * still-pending operations).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { clearTimeout, setTimeout } from 'node:timers';
import { median, nowUs, summarize } from './stats.js';

/** @typedef {(seq: number) => Promise<unknown>} Op */

export class BenchTimeoutError extends Error {
  /**
   * Repetitions that completed before the deadline (driver-specific shape:
   * Summary[] for round trips, PipelineRep[] for pipelined runs).
   * @type {unknown[]}
   */
  partial = [];

  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'BenchTimeoutError';
  }
}

/**
 * Attach completed repetitions to a BenchTimeoutError and rethrow.
 * @param {unknown} err
 * @param {unknown[]} partial
 * @returns {never}
 */
function rethrowWithPartial(err, partial) {
  if (err instanceof BenchTimeoutError) err.partial = partial;
  throw err;
}

/**
 * @typedef {object} Abort
 * @property {boolean} aborted set once the deadline passed
 */

/**
 * Run `fn` and reject with BenchTimeoutError if it does not settle within
 * `ms`. The armed timer also keeps the event loop alive while we wait (a
 * pending `Atomics.waitAsync` alone does not).
 * @template T
 * @param {string} label
 * @param {number} ms
 * @param {(abort: Abort) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withDeadline(label, ms, fn) {
  /** @type {Abort} */
  const abort = { aborted: false };
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<never>} */
  const expired = new Promise((_resolve, reject) => {
    timer = setTimeout(() => {
      abort.aborted = true;
      reject(new BenchTimeoutError(`${label}: exceeded ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([fn(abort), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolve when `promise` does, or reject after `ms` (for start-up/close).
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} label
 * @returns {Promise<T>}
 */
export function bounded(promise, ms, label) {
  return withDeadline(label, ms, () => promise);
}

/** Give the event loop / GC a moment between repetitions. */
export function settle(ms = 20) {
  return delay(ms);
}

/**
 * @typedef {object} RoundTripOptions
 * @property {number} [warmup]    untimed trips first (default 1000)
 * @property {number} [trips]     timed trips per repetition (default 2000)
 * @property {number} [reps]      repetitions (default 5)
 * @property {number} [timeoutMs] cap for the whole measurement (default 20000)
 */

/**
 * @typedef {object} RoundTripResult
 * @property {number} p50Us  median over repetitions of the per-rep p50
 * @property {number} p99Us  median over repetitions of the per-rep p99
 * @property {number} meanUs median over repetitions of the per-rep mean
 * @property {number} trips  timed trips per repetition
 * @property {import('./stats.js').Summary[]} reps per-repetition summaries (µs)
 */

/**
 * Sequential round trips: one op in flight, each timed individually.
 * @param {Op} op
 * @param {RoundTripOptions} [opts]
 * @returns {Promise<RoundTripResult>}
 */
export async function timeRoundTrips(op, opts = {}) {
  const { warmup = 1000, trips = 2000, reps = 5, timeoutMs = 20000 } = opts;
  /** @type {import('./stats.js').Summary[]} */
  const summaries = [];
  return withDeadline('round trip', timeoutMs, async (abort) => {
    let seq = 0;
    for (let i = 0; i < warmup && !abort.aborted; i++) await op(seq++);
    const samples = new Float64Array(trips);
    for (let r = 0; r < reps && !abort.aborted; r++) {
      await settle(10);
      for (let i = 0; i < trips && !abort.aborted; i++) {
        const t0 = nowUs();
        await op(seq++);
        samples[i] = nowUs() - t0;
      }
      summaries.push(summarize(samples));
    }
    return {
      p50Us: median(summaries.map((s) => s.p50)),
      p99Us: median(summaries.map((s) => s.p99)),
      meanUs: median(summaries.map((s) => s.mean)),
      trips,
      reps: summaries,
    };
  }).catch((/** @type {unknown} */ err) => rethrowWithPartial(err, summaries));
}

/**
 * @typedef {object} PipelineOptions
 * @property {number} [inFlight]   concurrent ops kept outstanding (default 64)
 * @property {number} [warmupMs]   untimed run first (default 150)
 * @property {number} [durationMs] issue window per repetition (default 250)
 * @property {number} [reps]       repetitions (default 5)
 * @property {number} [timeoutMs]  cap for the whole measurement (default 20000)
 */

/**
 * @typedef {object} PipelineRep
 * @property {number} ops       completed ops
 * @property {number} seconds   from first issue to last completion
 * @property {number} opsPerSec
 */

/**
 * @typedef {object} PipelineResult
 * @property {number} opsPerSec median over repetitions
 * @property {number} inFlight
 * @property {PipelineRep[]} reps
 */

/**
 * Keep `inFlight` ops outstanding (each completion issues the next one)
 * for `durationMs`, then drain; rate = completed / (last completion - start).
 * Every lane issues at least one op, so slow ops still yield a number.
 * @param {Op} op
 * @param {PipelineOptions} [opts]
 * @returns {Promise<PipelineResult>}
 */
export async function timePipelined(op, opts = {}) {
  const { inFlight = 64, warmupMs = 150, durationMs = 250, reps = 5, timeoutMs = 20000 } = opts;
  /** @type {PipelineRep[]} */
  const results = [];
  return withDeadline('pipelined', timeoutMs, async (abort) => {
    let seq = 0;
    /** @param {number} ms */
    const runOnce = async (ms) => {
      let done = 0;
      const t0 = nowUs();
      const end = t0 + ms * 1000;
      let last = t0;
      const lane = async () => {
        do {
          await op(seq++);
          done++;
          last = nowUs();
        } while (last < end && !abort.aborted);
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      const seconds = (last - t0) / 1e6;
      return { ops: done, seconds, opsPerSec: done / seconds };
    };
    await runOnce(warmupMs);
    for (let r = 0; r < reps && !abort.aborted; r++) {
      await settle(10);
      results.push(await runOnce(durationMs));
    }
    return { opsPerSec: median(results.map((x) => x.opsPerSec)), inFlight, reps: results };
  }).catch((/** @type {unknown} */ err) => rethrowWithPartial(err, results));
}
