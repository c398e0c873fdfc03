import type { BlockingWaitFn, NotifyFn } from './Doorbell.js';
import type { ShmBinding } from './shmBinding.js';

/** The addon's futexWait takes at most this long a timeout. */
const FUTEX_MAX_TIMEOUT_MS = 60_000;
const FUTEX_OUTCOMES = ['ok', 'not-equal', 'timed-out'] as const;

/**
 * Who shares the word: `'shared'` (the default) for memory mapped by two processes (the
 * isolated segment); `'process'` for threads of one process (embedded mode), where the
 * kernel keys the futex by address instead of pinning the page on every wait and wake
 * (`perf`: ~2.5 % of an embedded round trip on one core in `get_user_pages`). Both ends of a
 * word must use the same scope: a wake of the other scope reaches no one.
 */
export type FutexScope = 'shared' | 'process';

/**
 * A {@link BlockingWaitFn} on a real futex (the addon's `futexWait`), or undefined when the
 * addon lacks it. Only a {@link futexNotify} on the same word wakes it (`Atomics.notify` does
 * not), so both ends must agree to use it.
 *
 * Why not `Atomics.wait`: across processes it reaches no one. Between two threads of one
 * process it works, but V8 keeps its waiters in one process-wide list under one mutex and
 * wakes a waiter while holding that mutex. On one core the woken thread takes the core, blocks
 * on the mutex at once and hands the core back: every wake-up costs two extra context
 * switches (measured, embedded round trip on one core: 1.95 → 1.01 voluntary switches per
 * trip on each thread).
 *
 * @example
 * ```ts
 * const wait = futexBlockingWait(loadShmBinding());
 * const bell = new Doorbell(sab, parkOffset, wait === undefined ? {} : { wait });
 * ```
 */
export function futexBlockingWait(binding: ShmBinding | undefined, scope: FutexScope = 'shared'): BlockingWaitFn | undefined {
  const futexWait = binding?.futexWait;
  if (futexWait === undefined) return undefined;
  const processPrivate = scope === 'process';
  return (word, expected, timeoutMs) =>
    FUTEX_OUTCOMES[futexWait(word.buffer as SharedArrayBuffer, word.byteOffset, expected, Math.min(timeoutMs, FUTEX_MAX_TIMEOUT_MS), processPrivate)];
}

/**
 * A {@link NotifyFn} that wakes a peer asleep in {@link futexBlockingWait} with the addon's
 * `futexWake`, and any other peer (parked on its event loop; or blocking, when the addon
 * lacks `futexWake`) with `otherwise`. A futex wake that throws (it cannot on a mapping of
 * our own) also falls back to `otherwise`: never an exception on the ringer for a peer's flag.
 *
 * @example
 * ```ts
 * const notify = futexNotify(loadShmBinding(), (word) => Atomics.notify(word, 0));
 * ```
 */
export function futexNotify(binding: ShmBinding | undefined, otherwise: NotifyFn, scope: FutexScope = 'shared'): NotifyFn {
  const futexWake = binding?.futexWake;
  if (futexWake === undefined) return otherwise;
  const processPrivate = scope === 'process';
  return (word, blocking) => {
    if (blocking) {
      try {
        futexWake(word.buffer as SharedArrayBuffer, word.byteOffset, 1, processPrivate);
        return;
      } catch {
        // Fall through to the other way.
      }
    }
    otherwise(word, blocking);
  };
}
