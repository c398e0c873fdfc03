import { TokenBucket } from './TokenBucket.js';

/** The rates an isolated child's pipe is read at, at most, and how long it may stay over them. */
export interface ReadLimits {
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly bytesPerSecond: number;
  readonly byteBurst: number;
  /** Share of the host's time decoding the child's messages may take (0..1), and its burst in ms. */
  readonly decodeShare: number;
  readonly decodeBurstMs: number;
  /** How long the child may keep the reader throttled, in ms, before it is a flood. */
  readonly floodMs: number;
}

/**
 * Throttled episodes closer than this (from a resume to the next throttle, in ms) are one: a
 * child whose pipe is full again at once is still over the rate.
 */
const EPISODE_GAP_MS = 100;
/** Messages the bucket holds again before a throttled reader resumes (~20 ms at 200,000/s). */
const RESUME_MESSAGES = 4096;
/** Bytes likewise: one pipe read. */
const RESUME_BYTES = 64 * 1024;
/** Decoding time likewise, in ms. */
const RESUME_DECODE_MS = 20;

/**
 * Paces the host's reader of one isolated child's pipe (RELIABILITY C2, D7): messages and
 * bytes are counted as they are read, going into debt within one read if need be (what was
 * read is never dropped), and a reader in debt pauses until the buckets refill. A child that
 * sends faster than the rates waits (its writes wait for room in the pipe), the host reads
 * no faster, and no honest burst is lost; one that keeps the reader throttled for `floodMs`
 * in a row is a flood, which the caller ends (`lost`/`protocol`). `floodMs` 0 makes the
 * first throttle a flood (a hard budget of one burst). The time the host spends decoding is
 * counted too (`decoded`): a message within every rate and the value gate can still cost
 * 0.1–0.25 s to decode (100,000 small typed arrays), and a child writing such messages back
 * to back held the host's event loop for seconds; it gets `decodeShare` of the host's time —
 * paced to it, never a flood for it.
 *
 * @example
 * ```ts
 * const throttle = new ReadThrottle(limits);
 * throttle.read(chunk.byteLength); // and throttle.message() per frame decoded from it
 * const verdict = throttle.check();
 * if (verdict === 'flood') kill();
 * else if (verdict > 0) pauseFor(verdict, () => throttle.resumed());
 * ```
 */
export class ReadThrottle {
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #decode: TokenBucket;
  readonly #floodMs: number;
  readonly #now: () => number;
  /** When the current run of throttled episodes began (undefined: not throttled). */
  #since: number | undefined;
  /** When the reader last resumed after a throttle. */
  #resumedAt = Number.NEGATIVE_INFINITY;

  constructor(limits: ReadLimits, now: () => number = () => performance.now()) {
    if (!(limits.floodMs >= 0)) throw new RangeError(`ReadThrottle: floodMs must be >= 0, got ${limits.floodMs}`);
    this.#messages = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now);
    this.#bytes = new TokenBucket(limits.bytesPerSecond, limits.byteBurst, now);
    if (!(limits.decodeShare > 0 && limits.decodeShare <= 1)) throw new RangeError(`ReadThrottle: decodeShare must be in (0, 1], got ${limits.decodeShare}`);
    this.#decode = new TokenBucket(limits.decodeShare * 1000, limits.decodeBurstMs, now);
    this.#floodMs = limits.floodMs;
    this.#now = now;
  }

  /** Counts `bytes` read from the pipe. */
  read(bytes: number): void {
    this.#bytes.spend(bytes);
  }

  /** Counts one message decoded. */
  message(): void {
    this.#messages.spend(1);
  }

  /** Counts `ms` the host spent decoding what the child sent. */
  decoded(ms: number): void {
    this.#decode.spend(ms);
  }

  /**
   * After a read: 0 to keep reading, else ms to pause the reader for, or `'flood'` when the
   * child has kept it throttled for `floodMs` (0: at the first throttle).
   */
  check(): number | 'flood' {
    const overRates = Math.max(this.#messages.msUntil(0), this.#bytes.msUntil(0)) > 0;
    if (!overRates && this.#decode.msUntil(0) === 0) return 0;
    // Only the rates make a flood: decoding time is wall time (a collection, a loaded machine
    // stretch it), and an honest plugin with costly outputs is paced, never ended for them.
    const now = this.#now();
    if (overRates) {
      if (this.#since === undefined || now - this.#resumedAt > EPISODE_GAP_MS) this.#since = now;
      if (this.#floodMs === 0 || now - this.#since >= this.#floodMs) return 'flood';
    } else {
      // A pause for decoding alone ends a run over the rates: back-to-back decode pauses
      // kept an old rate episode open, and a later brief burst then counted from it.
      this.#since = undefined;
    }
    return Math.max(1, Math.ceil(Math.max(this.#messages.msUntil(RESUME_MESSAGES), this.#bytes.msUntil(RESUME_BYTES), this.#decode.msUntil(RESUME_DECODE_MS))));
  }

  /** The reader resumed after the pause {@link check} asked for. */
  resumed(): void {
    this.#resumedAt = this.#now();
  }
}
