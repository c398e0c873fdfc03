import { loadShmBinding, type ShmBinding } from './shmBinding.js';

/** Copies all of `source` into `target`, which has the same length. */
export type CopyBytesFn = (target: Uint8Array, source: Uint8Array) => void;

/**
 * From this many bytes the addon's copy beats `TypedArray#set` into shared memory; below it
 * the call into native code costs more than it saves (measured, Node 20: 256 B 0.04 vs
 * 0.10 µs; 1 KiB 0.15 vs 0.11 µs; 64 KiB 6.4 vs 2.2 µs; 1 MiB ~90 vs ~33 µs).
 */
export const NATIVE_COPY_MIN_BYTES = 1024;

/**
 * From this many bytes `TypedArray#set` beats the addon's copy again. libc's memmove switches
 * to non-temporal stores for copies larger than a share of the last-level cache, and those
 * were slower here than V8's plain word loop into shared memory (measured, Node 20, median of
 * 5, into rotating slots: 2 MiB native 0.65× set's time; 4 MiB 1.00×; 8.3 MB, a 1080p frame,
 * 1.31×; 33 MB, 4K, 1.44×): the bench's 4K one-copy ran at ~1.4× a bare memcpy.
 */
export const NATIVE_COPY_MAX_BYTES = 4 * 1024 * 1024;

const setCopy: CopyBytesFn = (target, source) => {
  target.set(source);
};

/**
 * How to copy a frame into a SharedArrayBuffer: with the addon's `copyBytes` (libc `memmove`)
 * from {@link NATIVE_COPY_MIN_BYTES} up to {@link NATIVE_COPY_MAX_BYTES} when the addon has
 * it, else `TypedArray#set`.
 *
 * Why: V8 copies to or from shared memory with a relaxed-atomic word loop (it may not assume
 * that no other thread writes the bytes meanwhile), not with `memmove`; into a slot of a
 * SharedArrayBuffer, the runtime's one copy of an application's frame ran 2–3× slower than
 * the same copy between heap buffers from ~16 KiB up to a few MiB. Past that, memory
 * bandwidth bounds both and memmove's non-temporal stores lose (see NATIVE_COPY_MAX_BYTES).
 * Nobody else writes a slot the runtime is filling: it was handed to no generation yet.
 *
 * @example
 * ```ts
 * const copy = sharedCopy();
 * copy(slotView, frame.data); // slotView.length === frame.data.length
 * ```
 */
export function sharedCopy(binding: ShmBinding | undefined = loadShmBinding()): CopyBytesFn {
  const native = binding?.copyBytes;
  if (native === undefined) return setCopy;
  return (target, source) => {
    const length = source.length;
    if (length < NATIVE_COPY_MIN_BYTES || length >= NATIVE_COPY_MAX_BYTES) target.set(source);
    else native(target, source);
  };
}
