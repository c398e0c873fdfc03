import { BufferWaiters } from './BufferWaiters.js';
import type { PoolSegment } from './PoolSegment.js';
import type { FramePool } from './FramePool.js';
import { sharedCopy, type CopyBytesFn } from './sharedCopy.js';
import { SlotPool } from './SlotPool.js';

/** Where a frame slot lives in its shared buffer. */
export interface SharedSlotsLayout {
  readonly slots: number;
  readonly slotBytes: number;
  readonly slotStride: number;
  readonly slotsOffset: number;
}

const ALIGN = 64;

/**
 * Frame slots in one SharedArrayBuffer, shared by every generation of an instance: the
 * application writes (or the runtime copies) a frame into a slot once, and the guest reads it
 * in place. `copyIn()` and `take()` never wait: when every slot is busy they return a heap
 * buffer, which the adapter then delivers by copy — the overflow policy, not the pool, decides
 * what is dropped.
 *
 * Slots held by a generation that died are quarantined until that generation can no longer
 * touch memory (its worker exited): a zombie must not read or scribble over a later frame.
 */
export class SharedFramePool implements FramePool {
  readonly buffer: SharedArrayBuffer;
  readonly layout: SharedSlotsLayout;
  readonly #slots: SlotPool;
  readonly #waiters = new BufferWaiters();
  readonly #quarantine = new Map<number, number[]>();
  /**
   * Generations already reclaimed. A worker or child that dies on its own is reclaimed by
   * its exit handler before the runtime settles (and discards) what it held, so a discard
   * for such a generation releases at once instead of waiting for a reclaim that has passed.
   * Generation numbers only grow: the set is kept as its maximum plus the few above it.
   */
  #reclaimedUpTo = 0;
  readonly #reclaimedAbove = new Set<number>();
  #closed: Error | undefined;
  #fd: number | undefined;
  #closeSegment: (() => void) | undefined;
  /**
   * The view last handed out for each slot, so that {@link slotOf} knows its own views by
   * identity: a typed array's `buffer` and `byteLength` are calls V8 (Node 20) does not
   * inline, ~25 ns each, and `slotOf` runs twice per frame.
   */
  readonly #lent: (Uint8Array | undefined)[];
  /** Copies into a slot: the addon's memmove for frames of a KiB and more, when it is there. */
  readonly #copy: CopyBytesFn;

  /**
   * @param options slots, their size, poisoning; `copy` fills a slot (default:
   *   {@link sharedCopy}, the addon's memmove when it is loaded).
   * @param allocate makes the shared buffer of a given size (default: an in-process
   *   `SharedArrayBuffer`; see PoolSegment.ts for the segments the adapters make, whose
   *   `close` gives the memory back).
   */
  constructor(
    options: { readonly slots: number; readonly slotBytes: number; readonly poisonReleased: boolean; readonly copy?: CopyBytesFn },
    allocate: (byteLength: number) => PoolSegment = (byteLength) => ({
      buffer: new SharedArrayBuffer(byteLength),
    }),
  ) {
    const slotStride = Math.ceil(options.slotBytes / ALIGN) * ALIGN;
    this.layout = { slots: options.slots, slotBytes: options.slotBytes, slotStride, slotsOffset: 0 };
    const segment = allocate(slotStride * options.slots);
    this.buffer = segment.buffer;
    this.#fd = segment.fd;
    this.#closeSegment = segment.close;
    this.#slots = new SlotPool(this.buffer, this.layout, { poisonReleased: options.poisonReleased });
    this.#lent = new Array<Uint8Array | undefined>(options.slots).fill(undefined);
    this.#copy = options.copy ?? sharedCopy();
  }

  /** The memfd behind `buffer` when it can be shared with another process; undefined once closed. */
  get fd(): number | undefined {
    return this.#fd;
  }

  get capacity(): number {
    return this.#slots.capacity;
  }

  get inUse(): number {
    return this.#slots.inUse;
  }

  /** The slot index a view lies in, if it is a view of this pool's shared buffer at a slot start. */
  slotOf(view: Uint8Array): number | undefined {
    const { slotStride, slotsOffset, slotBytes } = this.layout;
    const offset = view.byteOffset - slotsOffset;
    if (offset < 0 || offset % slotStride !== 0) return undefined;
    const slot = offset / slotStride;
    // A view this pool made is known by identity: its buffer and length are ours.
    if (this.#lent[slot] === view) return this.#slots.isInUse(slot) ? slot : undefined;
    // Any other (e.g. the application's own view of a slot): checked in full.
    if (view.buffer !== this.buffer) return undefined;
    return this.#slots.isInUse(slot) && view.length <= slotBytes ? slot : undefined;
  }

  holds(view: Uint8Array): boolean {
    return this.slotOf(view) !== undefined;
  }

  acquire(byteLength: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    this.#checkLength(byteLength);
    const view = this.#tryAcquire(byteLength);
    if (view !== undefined) return Promise.resolve(view);
    return this.#waiters.wait(byteLength, signal);
  }

  take(byteLength: number): Uint8Array {
    if (byteLength > this.layout.slotBytes) return new Uint8Array(byteLength);
    return this.#tryAcquire(byteLength) ?? new Uint8Array(byteLength);
  }

  /** A copy of `source` in a free slot, or in a fresh heap buffer when none is free or it does not fit. */
  copyIn(source: Uint8Array): Uint8Array {
    const length = source.length;
    const slot = length <= this.layout.slotBytes ? this.#tryAcquire(length) : undefined;
    if (slot === undefined) {
      // Heap to heap: TypedArray#set is memmove already.
      const copy = new Uint8Array(length);
      copy.set(source);
      return copy;
    }
    this.#copy(slot, source);
    return slot;
  }

  /**
   * A copy of `view` in a free slot, when `view` is not a slot (an overflow copy) and fits
   * one. A frame in a slot is handed over on the ring; a copy goes by message, a structured
   * clone that costs the same copy and several µs more (and the guest a heap allocation).
   */
  moveIntoPool(view: Uint8Array): Uint8Array | undefined {
    if (this.#closed !== undefined || view.length === 0 || view.length > this.layout.slotBytes || this.slotOf(view) !== undefined) return undefined;
    const slot = this.#tryAcquire(view.length);
    if (slot !== undefined) this.#copy(slot, view);
    return slot;
  }

  release(view: Uint8Array): void {
    const slot = this.slotOf(view);
    if (slot === undefined) return;
    this.#slots.release(slot);
    this.#serveWaiters();
  }

  discard(view: Uint8Array, generation: number): void {
    const slot = this.slotOf(view);
    if (slot === undefined) return;
    if (this.#wasReclaimed(generation)) {
      this.#slots.release(slot);
      this.#serveWaiters();
      return;
    }
    const held = this.#quarantine.get(generation) ?? [];
    held.push(slot);
    this.#quarantine.set(generation, held);
  }

  reclaim(generation: number): void {
    this.#markReclaimed(generation);
    const held = this.#quarantine.get(generation);
    if (held === undefined) return;
    this.#quarantine.delete(generation);
    for (const slot of held) this.#slots.release(slot);
    this.#serveWaiters();
  }

  /**
   * Rejects every pending `acquire()` and ends the segment, once: the instance is gone for
   * good (RELIABILITY E8: nothing may be left after shutdown — an open memfd keeps all of its
   * memory allocated for as long as the host lives). The adapters' segments give their memory
   * back at once (PoolSegment.ts); mappings made from it (this pool's buffer, a slot the application
   * kept, a child's) stay valid, reading zeros, until they are dropped.
   */
  close(reason: Error): void {
    this.#closed = reason;
    this.#waiters.rejectAll(reason);
    const closeSegment = this.#closeSegment;
    this.#closeSegment = undefined;
    this.#fd = undefined;
    closeSegment?.();
  }

  #wasReclaimed(generation: number): boolean {
    return generation <= this.#reclaimedUpTo || this.#reclaimedAbove.has(generation);
  }

  #markReclaimed(generation: number): void {
    if (generation <= this.#reclaimedUpTo) return;
    this.#reclaimedAbove.add(generation);
    // Generations end in order, so this folds the set back into the watermark at once.
    while (this.#reclaimedAbove.delete(this.#reclaimedUpTo + 1)) this.#reclaimedUpTo += 1;
  }

  #checkLength(byteLength: number): void {
    if (!Number.isSafeInteger(byteLength) || byteLength <= 0 || byteLength > this.layout.slotBytes) {
      throw new RangeError(`a frame slot holds 1..${this.layout.slotBytes} bytes, asked ${byteLength}`);
    }
  }

  #tryAcquire(byteLength: number): Uint8Array | undefined {
    const slot = this.#slots.acquire();
    if (slot === undefined) return undefined;
    // Frames of one size in a row (a video stream) take the slot's last view again: no view
    // to make (~50 ns) and none to collect. The same bytes as a fresh view would be; a stale
    // holder of it could write into this frame through a fresh view just as well.
    const last = this.#lent[slot];
    if (last !== undefined && last.length === byteLength) return last;
    const view = this.#slots.view(slot, byteLength);
    this.#lent[slot] = view;
    return view;
  }

  #serveWaiters(): void {
    this.#waiters.serve((byteLength) => this.#tryAcquire(byteLength));
  }
}
