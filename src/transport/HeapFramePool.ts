import { BufferWaiters } from './BufferWaiters.js';
import type { FramePool } from './FramePool.js';

/**
 * A pool of reusable frame buffers on the heap, for frames that do not leave the thread.
 *
 * Why a pool: allocating a fresh buffer per frame costs 3–5× a copy into a warm one. The
 * pool holds `capacity` buffers; `acquire()` waits for one of them, so an application that
 * writes into slots is paced by the plugin. `copyIn()` (through `take()`) is for frames the
 * runtime must copy (an application's own buffer): it never waits, and allocates beyond
 * `capacity` when every pooled buffer is busy, because refusing or dropping is the overflow
 * policy's decision, not the pool's. Extra buffers are not kept once released.
 */
export class HeapFramePool implements FramePool {
  readonly capacity: number;
  readonly #poison: boolean;
  readonly #free: ArrayBuffer[] = [];
  /**
   * The pool's buffers, true while handed out. Flipped in place, never deleted: a `Set` that
   * took and dropped a buffer per frame made V8 promote what it touched (see SeqMap).
   */
  readonly #out = new WeakMap<ArrayBuffer, boolean>();
  #inUse = 0;
  /**
   * Buffers something outside the runtime still reads (a pipe write in progress), with
   * whether they were released meanwhile: the release waits for {@link unpin}.
   */
  readonly #pinned = new Map<ArrayBuffer, boolean>();
  readonly #waiters = new BufferWaiters();
  #allocated = 0;

  constructor(options: { readonly capacity: number; readonly poisonReleased: boolean }) {
    this.capacity = options.capacity;
    this.#poison = options.poisonReleased;
  }

  /** Buffers of the pool currently handed out. */
  get inUse(): number {
    return this.#inUse;
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

  /** A copy of `source` in a buffer from {@link take}: heap to heap, `TypedArray#set` is libc's memmove. */
  copyIn(source: Uint8Array): Uint8Array {
    const copy = this.take(source.length);
    copy.set(source);
    return copy;
  }

  /** Never: a heap buffer travels no better than another (the frame stays on this thread). */
  moveIntoPool(_view: Uint8Array): undefined {
    return undefined;
  }

  holds(view: Uint8Array): boolean {
    return this.#out.get(view.buffer as ArrayBuffer) === true;
  }

  /**
   * Keeps `view`'s buffer from being recycled (or poisoned) until {@link unpin}: a release
   * meanwhile takes effect then. For a buffer handed to a writer by reference — the isolated
   * pipe writes a frame's copy as it is, and a hostile child may answer for the frame before
   * it has read the bytes; the buffer must not carry another frame while they are queued.
   */
  pin(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer;
    if (this.#out.get(buffer) === true) this.#pinned.set(buffer, false);
  }

  /** Ends a {@link pin}; a release that came meanwhile happens now. */
  unpin(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer;
    const released = this.#pinned.get(buffer);
    this.#pinned.delete(buffer);
    if (released === true) this.release(view);
  }

  /** Gives a buffer back. Pooled buffers are recycled; with `poisonReleased` every buffer is poisoned first. */
  release(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer;
    if (this.#pinned.has(buffer)) {
      this.#pinned.set(buffer, true);
      return;
    }
    // An overflow copy too: a plugin that kept it must read garbage, as from a pooled one.
    if (this.#poison) new Uint8Array(buffer).fill(0xde);
    if (!this.#takeBack(buffer)) return;
    this.#free.push(buffer);
    this.#serveWaiters();
  }

  /**
   * Forgets a buffer that a dead generation may still touch: it is never recycled (so a
   * zombie callback cannot read another frame's bytes), and a fresh one replaces it.
   */
  discard(view: Uint8Array, _generation: number): void {
    const buffer = view.buffer as ArrayBuffer;
    if (!this.#takeBack(buffer)) return;
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
    this.#out.set(buffer, true);
    this.#inUse += 1;
    return new Uint8Array(buffer, 0, byteLength);
  }

  /** Whether `buffer` is the pool's and was handed out; if so, it no longer is. */
  #takeBack(buffer: ArrayBuffer): boolean {
    if (this.#out.get(buffer) !== true) return false;
    this.#out.set(buffer, false);
    this.#inUse -= 1;
    return true;
  }

  #serveWaiters(): void {
    this.#waiters.serve((byteLength) => this.#tryPooled(byteLength));
  }
}
