/**
 * Where an instance keeps the bytes of frames between submission and delivery. Each adapter
 * provides the pool that suits its transport (heap buffers inline, shared slots out of
 * thread); the runtime only takes, releases and discards views.
 */
export interface FramePool {
  /** Pooled buffers, the bound of `acquire()`. */
  readonly capacity: number;
  /** Pooled buffers handed out. */
  readonly inUse: number;
  /** A pooled buffer of `byteLength` bytes, waiting for one to be released if need be. */
  acquire(byteLength: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * A copy of `source` now, in a pooled buffer if one is free, otherwise in a fresh heap
   * buffer: the runtime's one copy of a frame the application keeps. It never waits, because
   * refusing or dropping is the overflow policy's decision. The pool copies, as it knows its
   * memory best (shared slots are filled faster by the addon than by `TypedArray#set`).
   */
  copyIn(source: Uint8Array): Uint8Array;
  /**
   * A copy of `view` in a free pooled buffer when `view` is not one and the copy would travel
   * better (a shared slot, where `view` would go as a copy by message); undefined otherwise.
   * For a frame that waited in the queue as a copy because every buffer was in use: by the
   * time it is handed over, one may be free. The caller then releases `view` no more (a copy
   * is not pooled) and releases the returned buffer when the frame settles.
   */
  moveIntoPool(view: Uint8Array): Uint8Array | undefined;
  /**
   * Whether `view` is one of the pool's buffers, handed out (not a copy in a fresh heap
   * buffer): pooled memory is bounded by the pool, a copy is memory the host holds on top.
   */
  holds(view: Uint8Array): boolean;
  /** Gives a buffer back after its frame settled. */
  release(view: Uint8Array): void;
  /**
   * Gives back a buffer that generation `generation` held when it died: it must not be
   * reused while that generation could still touch it (see `reclaim`).
   */
  discard(view: Uint8Array, generation: number): void;
  /** Generation `generation` can no longer touch memory: its discarded buffers may be reused. */
  reclaim(generation: number): void;
  /** Rejects every pending `acquire()`. */
  close(reason: Error): void;
}
