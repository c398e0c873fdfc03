import { loadShmBinding, type ShmBinding } from './shmBinding.js';

/** Copies all of `source` into `target`, which has the same length. */
export type CopyBytesFn = (target: Uint8Array, source: Uint8Array) => void;

/**
 * From this many bytes the addon's copy beats `TypedArray#set` into shared memory; below it
 * the call into native code costs more than it saves (measured, Node 20: 256 B 0.04 vs
 * 0.10 µs; 1 KiB 0.15 vs 0.11 µs; 64 KiB 6.4 vs 2.2 µs; 1 MiB ~90 vs ~33 µs).
 */
export const NATIVE_COPY_MIN_BYTES = 1024;

const setCopy: CopyBytesFn = (target, source) => {
  target.set(source);
};

/**
 * How to copy a frame into a SharedArrayBuffer: with the addon's `copyBytes` (libc `memmove`)
 * from {@link NATIVE_COPY_MIN_BYTES} up when the addon has it, else `TypedArray#set`.
 *
 * Why: V8 copies to or from shared memory with a relaxed-atomic word loop (it may not assume
 * that no other thread writes the bytes meanwhile), not with `memmove`; into a slot of a
 * SharedArrayBuffer, the runtime's one copy of an application's frame ran 2–3× slower than
 * the same copy between heap buffers from ~16 KiB up, and ~15 % slower at 33 MB (4K RGBA),
 * where memory bandwidth bounds both. Nobody else writes a slot the runtime is filling: it
 * was handed to no generation yet.
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
    if (source.length < NATIVE_COPY_MIN_BYTES) target.set(source);
    else native(target, source);
  };
}
