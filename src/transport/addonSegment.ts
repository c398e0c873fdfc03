import type { ShmBinding } from './shmBinding.js';

/** What a shared frame pool is made of: its buffer, the memfd to pass to a child, and how to end it. */
export interface PoolSegment {
  readonly buffer: SharedArrayBuffer;
  /** The memfd behind `buffer`, kept open for children to map; undefined when none will. */
  readonly fd?: number;
  /** Called once, when the pool is closed for good. */
  readonly close?: () => void;
}

/**
 * Frame-pool memory from the native addon: a sealed memfd mapped here, whose pages go back to
 * the system the moment the pool closes (`discardSegment`). A plain `SharedArrayBuffer`, or
 * a mapping left to V8, keeps its pages until the garbage collector takes its buffer — which
 * an idle host may never do: 96 MiB per unloaded instance stayed in memory (2.4 GB after 24
 * load/unload cycles). `keepFd`: the memfd stays open for children to map (isolated), else it
 * is closed at once (embedded: the worker shares the mapping itself; no descriptor per pool).
 *
 * @example
 * ```ts
 * const pool = new SharedFramePool(options, (byteLength) => addonSegment(binding, byteLength, false));
 * ```
 */
export function addonSegment(binding: ShmBinding, byteLength: number, keepFd: boolean): PoolSegment {
  const segment = binding.createSegment(byteLength);
  if (!keepFd) binding.closeFd(segment.fd);
  return {
    buffer: segment.buffer,
    ...(keepFd ? { fd: segment.fd } : {}),
    close: () => {
      try {
        // Whatever still maps it (a slot the application kept, a child not reaped yet) reads zeros.
        binding.discardSegment?.(segment.buffer);
      } finally {
        if (keepFd) binding.closeFd(segment.fd);
      }
    },
  };
}
