import { BufferWaiters } from './BufferWaiters.js';
import type { FramePool } from './FramePool.js';

/**
 * A pool of reusable frame buffers on the heap, for frames that do not leave the thread.
 *
 * Why a pool: allocating a fresh buffer per frame costs 3–5× a copy into a warm one. The
 * pool holds `capacity` buffers; `acquire()` waits for one of them, so an application that
 * writes into slots is paced by the plugin. `take()` is for frames the runtime must copy
 * (an application's own buffer): it never waits, and allocates beyond `capacity` when every
 * pooled buffer is busy, because refusing or dropping is the overflow policy's decision, not
 * the pool's. Extra buffers are not kept once released.
 */
export class HeapFramePool implements FramePool {
  readonly capacity: number;
  readonly #poison: boolean;
  readonly #free: ArrayBuffer[] = [];
  /** Buffers handed out that belong to the pool (count towards `capacity`). */
  readonly #pooled = new Set<ArrayBuffer>();
  readonly #waiters = new BufferWaiters();
  #allocated = 0;

  constructor(options: { readonly capacity: number; readonly poisonReleased: boolean }) {
    this.capacity = options.capacity;
    this.#poison = options.poisonReleased;
  }

  /** Buffers of the pool currently handed out. */
  get inUse(): number {
    return this.#pooled.size;
  }

  /** A pooled buffer of at least `byteLength` bytes, waiting for one to be released if need be. */
  acquire(byteLength: number, signal?: AbortSignal): Promise<Uint8Array> {
    const view = this.#tryPooled(byteLength);
    if (view !== undefined) return Promise.resolve(view);
    return this.#waiters.wait(byteLength, signal);
  }

  /** A buffer of `byteLength` bytes now: pooled if one is free, freshly allocated otherwise. */
  take(byteLength: number): Uint8Array {
    return this.#tryPooled(byteLength) ?? new Uint8Array(byteLength);
  }

  /** Gives a buffer back. Pooled buffers are recycled; with `poisonReleased` every buffer is poisoned first. */
  release(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer;
    // An overflow copy too: a plugin that kept it must read garbage, as from a pooled one.
    if (this.#poison) new Uint8Array(buffer).fill(0xde);
    if (!this.#pooled.delete(buffer)) return;
    this.#free.push(buffer);
    this.#serveWaiters();
  }

  /**
   * Forgets a buffer that a dead generation may still touch: it is never recycled (so a
   * zombie callback cannot read another frame's bytes), and a fresh one replaces it.
   */
  discard(view: Uint8Array, _generation: number): void {
    const buffer = view.buffer as ArrayBuffer;
    if (!this.#pooled.delete(buffer)) return;
    this.#allocated -= 1;
    this.#serveWaiters();
  }

  /** Nothing to do: discarded heap buffers were replaced at once and are left to the GC. */
  reclaim(_generation: number): void {
    // A heap buffer a zombie callback still holds is its own; nothing returns to the pool.
  }

  /** Rejects every pending `acquire()`. */
  close(reason: Error): void {
    this.#waiters.rejectAll(reason);
  }

  #tryPooled(byteLength: number): Uint8Array | undefined {
    let buffer = this.#free.pop();
    if (buffer === undefined) {
      if (this.#allocated >= this.capacity) return undefined;
      this.#allocated += 1;
      buffer = new ArrayBuffer(byteLength);
    } else if (buffer.byteLength < byteLength) {
      buffer = new ArrayBuffer(byteLength);
    }
    this.#pooled.add(buffer);
    return new Uint8Array(buffer, 0, byteLength);
  }

  #serveWaiters(): void {
    this.#waiters.serve((byteLength) => this.#tryPooled(byteLength));
  }
}
