import { PollGovernor } from './PollGovernor.js';
/**
 * How a doorbell wakes a parked peer: called with the park word (an Int32Array of length 1)
 * after the ringer has cleared the peer's parked flag, and whether the peer sleeps in a
 * blocking wait ({@link Doorbell.park}) rather than on its event loop. The default is
 * {@link atomicsNotify}. A custom function may replace it (e.g. a futex wake, or a byte on a
 * pipe, for a peer in another process, which V8's `Atomics.notify` cannot reach).
 */
export type NotifyFn = (word: Int32Array, blocking: boolean) => void;

/** Default {@link NotifyFn}: `Atomics.notify` on the park word (wakes both kinds of waiter). */
export function atomicsNotify(word: Int32Array): void {
  Atomics.notify(word, 0);
}

/**
 * A blocking wait on the park word while it holds `expected`, for at most `timeoutMs`:
 * `Atomics.wait`'s contract (the default), or e.g. a futex on memory shared with another
 * process.
 */
export type BlockingWaitFn = (word: Int32Array, expected: number, timeoutMs: number) => 'ok' | 'not-equal' | 'timed-out';

/** How a park ended. */
export type ParkOutcome =
  /** The condition held before sleeping (while spinning, or at the re-check after raising the flag). */
  | 'ready'
  /** The peer rang (or the flag was cleared under us): re-check the condition. */
  | 'woken'
  /** The timeout passed and the condition still does not hold. */
  | 'timed-out';

/** How a {@link Doorbell} is set up. */
export interface DoorbellOptions {
  /**
   * How long, in µs, a blocking {@link Doorbell.park} polls the condition before it raises the
   * parked flag and sleeps. Default 0; at most {@link MAX_SPIN_MICROS}. A peer that publishes
   * within that window costs neither side a notification nor a wake-up (~10 µs each way on
   * this class of machine). Only worth it when the peer runs on another core: a spinning
   * thread that shares the core with its peer keeps the peer from publishing at all.
   * Adaptive ({@link PollGovernor}): a park spins only when the previous park ended within
   * the window, so a peer that publishes at longer intervals costs no spinning at all after
   * one park; a spin that misses backs off (the next 2, 4 … 256 parks do not spin), which is
   * what keeps a machine without a core to spare from burning one. The event-loop parks never
   * spin.
   */
  readonly spinMicros?: number;
  /** The clock the spin is bounded by, in ms (default `performance.now`); for tests. */
  readonly now?: () => number;
  /** How {@link Doorbell.ring} wakes the peer. Default {@link atomicsNotify}. */
  readonly notify?: NotifyFn;
  /** How {@link Doorbell.park} sleeps. Default `Atomics.wait`. */
  readonly wait?: BlockingWaitFn;
}

/** Upper bound of {@link DoorbellOptions.spinMicros}: spinning is a latency trade, never a busy wait. */
export const MAX_SPIN_MICROS = 1000;

/** Polls of the condition between two reads of the clock while spinning (a poll is ~40 ns, a read ~100 ns). */
const POLLS_PER_CLOCK_READ = 16;

const AWAKE = 0;
/** Parked on an event loop (`parkAsync`, or by other means after `prepareToPark`). */
const PARKED = 1;
/** Parked in a blocking wait (`park`): a ringer may wake it without the event loop. */
const PARKED_BLOCKING = 2;

function atomicsWait(word: Int32Array, expected: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
  return Atomics.wait(word, 0, expected, timeoutMs);
}

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
type WaitAsyncFn = (typedArray: Int32Array, index: number, value: number, timeout?: number) => WaitAsyncResult;

/** `Atomics.waitAsync` (ES2024; Node 16+), which the ES2023 lib this package compiles against does not declare. */
function waitAsync(): WaitAsyncFn {
  const fn = (Atomics as unknown as { waitAsync?: WaitAsyncFn }).waitAsync;
  if (fn === undefined) throw new Error('Doorbell.parkAsync: Atomics.waitAsync is not available in this runtime');
  return fn;
}

function checkTimeout(timeoutMs: number): void {
  if (!(timeoutMs >= 0)) throw new RangeError(`Doorbell: timeoutMs must be >= 0, got ${timeoutMs}`);
}

/**
 * The park/notify protocol over one Int32 "parked" word in a SharedArrayBuffer. The side that
 * sleeps (the consumer of a ring when it is empty, or its producer when it is full) parks
 * here; the other side rings after publishing.
 *
 * Parking: raise the flag (`Atomics.store` 1, or 2 for a blocking wait), re-check the
 * condition, then sleep while the flag is still raised. Ringing: after publishing, if the
 * flag is raised, clear it with `compareExchange(flag → 0)` and notify. Both sides use sequentially consistent atomics, so
 * either the sleeper's re-check sees the publication or the ringer sees the flag: no lost
 * wake-up. A busy peer never has its flag raised, so ringing it costs one load and no
 * syscall; many publications while the peer sleeps cost one notification.
 *
 * The flag says how the owner sleeps (1: on its event loop, 2: in a blocking wait), so a
 * ringer in another process can pick the cheapest way that reaches it.
 *
 * The flag is shared memory, so a hostile peer can flip it: that only causes spurious
 * wake-ups (every park returns so the caller re-checks) or extra notifications.
 */
export class Doorbell {
  readonly #word: Int32Array;
  readonly #spinMicros: number;
  readonly #now: () => number;
  /** Whether the next blocking park spins (after parks that ended within the window, backing off after misses). */
  readonly #spinGovernor = new PollGovernor();
  readonly #notify: NotifyFn;
  readonly #wait: BlockingWaitFn;
  /** Ends the pending {@link parkUntilWoken}, if any. */
  #endPark: (() => void) | undefined;

  /**
   * @param parkOffset byte offset of the park word (e.g. `RingLayout.consumerParkOffset`).
   * @throws RangeError when the word does not fit the buffer or `spinMicros` is out of range.
   */
  constructor(sab: SharedArrayBuffer, parkOffset: number, options: DoorbellOptions = {}) {
    if (!Number.isSafeInteger(parkOffset) || parkOffset < 0 || parkOffset % 4 !== 0 || parkOffset + 4 > sab.byteLength) {
      throw new RangeError(`Doorbell: parkOffset must be a 4-aligned offset inside the ${sab.byteLength}-byte buffer, got ${parkOffset}`);
    }
    const spinMicros = options.spinMicros ?? 0;
    if (!(spinMicros >= 0 && spinMicros <= MAX_SPIN_MICROS)) {
      throw new RangeError(`Doorbell: spinMicros must be in [0, ${MAX_SPIN_MICROS}], got ${spinMicros}`);
    }
    this.#word = new Int32Array(sab, parkOffset, 1);
    this.#spinMicros = spinMicros;
    this.#now = options.now ?? (() => performance.now());
    this.#notify = options.notify ?? atomicsNotify;
    this.#wait = options.wait ?? atomicsWait;
  }

  /** Whether the flag is raised (the owner is parked or about to be). */
  get isParked(): boolean {
    const state = Atomics.load(this.#word, 0);
    return state === PARKED || state === PARKED_BLOCKING;
  }

  /**
   * Producer side, after publishing: wakes the peer if, and only if, it is parked. Returns
   * whether a notification was sent. Also a way for the sleeper's own side to cut its park
   * short (e.g. on close).
   */
  ring(): boolean {
    return this.#ring(false);
  }

  /**
   * Like {@link ring}, but only a peer asleep in a blocking wait: for a ringer whose other
   * news (a message) already wakes a peer parked on its event loop.
   */
  ringIfBlocking(): boolean {
    return this.#ring(true);
  }

  #ring(onlyBlocking: boolean): boolean {
    // A load first: a busy peer costs no compareExchange (which would take the cache line
    // exclusive even when it fails).
    const state = Atomics.load(this.#word, 0);
    if (state !== PARKED_BLOCKING && (onlyBlocking || state !== PARKED)) return false;
    if (Atomics.compareExchange(this.#word, 0, state, AWAKE) !== state) return false;
    this.#notify(this.#word, state === PARKED_BLOCKING);
    return true;
  }

  /**
   * Wakes this process's own waiters on the word, unconditionally. For a doorbell that
   * arrived by another way (a byte on a pipe from a peer in another process, where
   * `Atomics.notify` cannot reach): the peer already lowered the flag, so `ring()` would not.
   */
  wakeLocal(): void {
    Atomics.notify(this.#word, 0);
  }

  /**
   * First half of a park, for callers that sleep by other means (e.g. on a pipe): raises the
   * flag, re-checks. Returns true when the caller must now sleep (flag raised, condition
   * false), false when the condition holds (flag lowered). After sleeping, call {@link endPark}.
   */
  prepareToPark(isReady: () => boolean, state: typeof PARKED | typeof PARKED_BLOCKING = PARKED): boolean {
    Atomics.store(this.#word, 0, state);
    // The re-check closes the lost-wake-up window: a publication before the flag was raised
    // is seen here; one after it finds the flag raised and rings.
    if (isReady()) {
      Atomics.store(this.#word, 0, AWAKE);
      return false;
    }
    return true;
  }

  /** Lowers the flag after sleeping (a no-op when the ringer already did). */
  endPark(): void {
    Atomics.store(this.#word, 0, AWAKE);
  }

  /**
   * Blocking park (`Atomics.wait`, or the `wait` option), for a guest thread (never the
   * host's event loop). Returns after a ring, a timeout, or at once when `isReady` holds.
   */
  park(isReady: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): ParkOutcome {
    checkTimeout(timeoutMs);
    if (this.#spinMicros === 0) return this.#parkBlocking(isReady, timeoutMs);
    const window = this.#spinMicros / 1000;
    const start = this.#now();
    const governor = this.#spinGovernor;
    const spins = governor.next();
    if (spins) {
      if (this.#spin(isReady, start + Math.min(window, timeoutMs))) {
        governor.caught();
        return 'ready';
      }
      governor.missed();
    }
    const outcome = this.#parkBlocking(isReady, timeoutMs);
    if (!spins) governor.waited(outcome !== 'timed-out' && this.#now() - start <= window);
    return outcome;
  }

  #parkBlocking(isReady: () => boolean, timeoutMs: number): ParkOutcome {
    if (!this.prepareToPark(isReady, PARKED_BLOCKING)) return 'ready';
    let result: 'ok' | 'not-equal' | 'timed-out';
    try {
      result = this.#wait(this.#word, PARKED_BLOCKING, timeoutMs);
    } finally {
      // Even when the wait throws: a flag left raised would make the peer keep waking a
      // sleeper that is not there, and never use the way that reaches it.
      this.endPark();
    }
    return this.#outcome(result, isReady);
  }

  /**
   * Non-blocking park with `Atomics.waitAsync`, for the host's event loop. The flag is raised
   * synchronously, before this returns. Note: a pending `waitAsync` does not keep a Node
   * process alive by itself.
   */
  async parkAsync(isReady: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<ParkOutcome> {
    checkTimeout(timeoutMs);
    const wait = waitAsync();
    if (!this.prepareToPark(isReady)) return 'ready';
    const pending = wait(this.#word, 0, PARKED, timeoutMs);
    const result = pending.async ? await pending.value : pending.value;
    this.endPark();
    return this.#outcome(result, isReady);
  }

  /**
   * Park on this side's event loop until {@link wakeParked}: for a peer whose doorbells arrive
   * as messages (a pipe), which `Atomics.notify` does not carry, so that a doorbell ends the
   * park directly instead of through a `waitAsync` that would take another turn.
   */
  async parkUntilWoken(isReady: () => boolean): Promise<ParkOutcome> {
    if (!this.prepareToPark(isReady)) return 'ready';
    await new Promise<void>((resolve) => {
      this.#endPark = resolve;
    });
    this.endPark();
    return 'woken';
  }

  /**
   * Ends a pending {@link parkUntilWoken}; false when there is none. Leaves the flag alone:
   * lowering it while this side still sleeps would tell the peer it is awake, and the peer
   * would send no doorbell for what it publishes next.
   */
  wakeParked(): boolean {
    const end = this.#endPark;
    this.#endPark = undefined;
    end?.();
    return end !== undefined;
  }

  /** Polls `isReady` until the clock reaches `deadline` (ms); true as soon as it holds. */
  #spin(isReady: () => boolean, deadline: number): boolean {
    for (let polls = 1; ; polls++) {
      if (isReady()) return true;
      if (polls % POLLS_PER_CLOCK_READ === 0 && this.#now() >= deadline) return false;
    }
  }

  #outcome(result: 'ok' | 'not-equal' | 'timed-out', isReady: () => boolean): ParkOutcome {
    if (result !== 'timed-out') return 'woken';
    return isReady() ? 'ready' : 'timed-out';
  }
}
