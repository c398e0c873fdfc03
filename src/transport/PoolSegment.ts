import type { ShmBinding } from './shmBinding.js';

/** What a shared frame pool is made of: its buffer, the memfd to pass to a child, and how to end it. */
export interface PoolSegment {
  readonly buffer: SharedArrayBuffer;
  /** The memfd behind `buffer`, kept open for children to map; undefined when none will. */
  readonly fd?: number;
  /** Called once, when the pool is closed for good. */
  readonly close?: () => void;
}

/** Takes back, once V8 collected a closed segment's buffer, what its close told V8 it held. */
const collected = new FinalizationRegistry<{ readonly binding: ShmBinding; readonly bytes: number }>(({ binding, bytes }) => {
  binding.adjustExternalMemory?.(-bytes);
});

/**
 * Why a pool gives its memory back when it closes: V8 frees a buffer only when it collects
 * it, which an idle host may never do — 96 MiB per unloaded instance stayed in memory (2.4 GB
 * after 24 load/unload cycles). The addon's `discardMemory` frees the pages at once; whatever
 * still references them (a slot the application kept, a child not reaped yet) reads zeros.
 * The mapping itself goes only with the buffer, and V8 counts a shared buffer toward no
 * isolate, so nothing made it collect one: an application loading and unloading instances
 * grew its address space by a pool per cycle (under `ulimit -v`, `load()` failed after a few
 * dozen). From its close until it is collected, the buffer counts as external memory.
 */
function discarding(binding: ShmBinding | undefined, buffer: SharedArrayBuffer, then?: () => void): () => void {
  return () => {
    try {
      discardSegment(binding, buffer);
    } finally {
      then?.();
    }
  };
}

/**
 * Gives a shared segment's pages back now and counts its buffer as external memory until V8
 * collects it (see {@link discarding}): for a segment no one will use again, whoever still
 * maps it. Without the addon, or where `madvise` is refused, the pages wait for the garbage
 * collector.
 *
 * @example
 * ```ts
 * child.once('exit', () => discardSegment(binding, rings));
 * ```
 */
export function discardSegment(binding: ShmBinding | undefined, buffer: SharedArrayBuffer): void {
  try {
    binding?.discardMemory?.(buffer);
  } catch {
    // madvise refused (a sandbox's syscall filter): the pages wait for the garbage collector,
    // as without the addon; ending the instance must not fail for it.
  }
  if (binding?.adjustExternalMemory !== undefined) {
    const bytes = buffer.byteLength;
    binding.adjustExternalMemory(bytes);
    collected.register(buffer, { binding, bytes });
  }
}

/**
 * Frame-pool memory another process maps (isolated): a sealed memfd from the addon, mapped
 * here, its descriptor kept open to pass to each generation's child; closing discards its
 * pages and closes the descriptor.
 *
 * @example
 * ```ts
 * const pool = new SharedFramePool(options, (byteLength) => memfdPoolSegment(binding, byteLength));
 * ```
 */
export function memfdPoolSegment(binding: ShmBinding, byteLength: number): PoolSegment {
  const segment = binding.createSegment(byteLength);
  return {
    buffer: segment.buffer,
    fd: segment.fd,
    close: discarding(binding, segment.buffer, () => {
      binding.closeFd(segment.fd);
    }),
  };
}

/**
 * Frame-pool memory of this process only (embedded: the worker shares the buffer itself): a
 * plain SharedArrayBuffer — V8's anonymous memory, read faster than a memfd mapping (4K frames
 * read in place: ~15 % more per second) — whose pages closing discards when the addon loads.
 * Without the addon they wait for the garbage collector.
 *
 * @example
 * ```ts
 * const pool = new SharedFramePool(options, (byteLength) => heapPoolSegment(loadShmBinding(), byteLength));
 * ```
 */
export function heapPoolSegment(binding: ShmBinding | undefined, byteLength: number): PoolSegment {
  const buffer = new SharedArrayBuffer(byteLength);
  return { buffer, close: discarding(binding, buffer) };
}
