import type { SegmentLayout } from './segmentLayout.js';

/** Byte written over a released slot when {@link SlotPoolOptions.poisonReleased} is set. */
export const POISON_BYTE = 0xde;

/** How a {@link SlotPool} is set up. */
export interface SlotPoolOptions {
  /**
   * Fill each released slot with {@link POISON_BYTE}, so code that kept a raw view of it reads
   * obvious garbage rather than plausible stale pixels. Costs one `fill` of `slotStride` bytes
   * per release. Default false.
   */
  readonly poisonReleased?: boolean;
}

/**
 * Host-side ownership of the segment's slots. Only the host allocates: the guest learns a
 * slot index from a descriptor and hands it back in another one.
 *
 * Errors thrown here are host bugs (double release, foreign index, viewing a free slot). A
 * slot index that came from the peer must be checked with {@link SlotPool.isInUse} (and
 * against the host's own record of what it lent) before it is released.
 *
 * Free slots are reused first-in first-out, so a released slot stays unused (and poisoned)
 * as long as possible before it carries another frame.
 */
export class SlotPool {
  /** Number of slots. */
  readonly capacity: number;
  /** Usable bytes per slot. */
  readonly slotBytes: number;
  readonly #stride: number;
  readonly #base: number;
  readonly #sab: SharedArrayBuffer;
  readonly #bytes: Uint8Array;
  readonly #poison: boolean;
  readonly #inUse: Uint8Array;
  /** Circular FIFO of free slot indices. */
  readonly #free: Uint32Array;
  #freeHead = 0;
  #freeCount: number;

  /**
   * @throws RangeError when the slot pool described by `layout` does not fit `sab`.
   */
  constructor(
    sab: SharedArrayBuffer,
    layout: Pick<SegmentLayout, 'slots' | 'slotBytes' | 'slotStride' | 'slotsOffset'>,
    options: SlotPoolOptions = {},
  ) {
    const { slots, slotBytes, slotStride, slotsOffset } = layout;
    if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError(`SlotPool: slots must be a positive integer, got ${slots}`);
    if (!Number.isSafeInteger(slotBytes) || slotBytes < 1 || !Number.isSafeInteger(slotStride) || slotStride < slotBytes) {
      throw new RangeError(`SlotPool: need 1 <= slotBytes (${slotBytes}) <= slotStride (${slotStride})`);
    }
    const end = slotsOffset + slots * slotStride;
    if (!Number.isSafeInteger(slotsOffset) || slotsOffset < 0 || end > sab.byteLength) {
      throw new RangeError(`SlotPool: slots span bytes [${slotsOffset}, ${end}), the buffer has ${sab.byteLength}`);
    }
    this.capacity = slots;
    this.slotBytes = slotBytes;
    this.#stride = slotStride;
    this.#base = slotsOffset;
    this.#sab = sab;
    this.#bytes = new Uint8Array(sab, slotsOffset, slots * slotStride);
    this.#poison = options.poisonReleased ?? false;
    this.#inUse = new Uint8Array(slots);
    this.#free = new Uint32Array(slots);
    for (let i = 0; i < slots; i++) this.#free[i] = i;
    this.#freeCount = slots;
  }

  /** Slots currently acquired. */
  get inUse(): number {
    return this.capacity - this.#freeCount;
  }

  /** A free slot index, now owned by the caller; `undefined` when every slot is in use. */
  acquire(): number | undefined {
    if (this.#freeCount === 0) return undefined;
    const slot = this.#free[this.#freeHead];
    if (slot === undefined) return undefined;
    this.#freeHead = (this.#freeHead + 1) % this.capacity;
    this.#freeCount -= 1;
    this.#inUse[slot] = 1;
    return slot;
  }

  /**
   * Returns a slot to the pool (poisoning it if configured).
   *
   * @throws RangeError for an index that is not a slot of this pool; Error when the slot is
   *   not in use (double release).
   */
  release(slot: number): void {
    this.#checkIndex('release', slot);
    if (this.#inUse[slot] !== 1) throw new Error(`SlotPool.release: slot ${slot} is not in use (double release?)`);
    this.#inUse[slot] = 0;
    if (this.#poison) {
      const start = slot * this.#stride;
      this.#bytes.fill(POISON_BYTE, start, start + this.#stride);
    }
    this.#free[(this.#freeHead + this.#freeCount) % this.capacity] = slot;
    this.#freeCount += 1;
  }

  /** Whether `slot` is an index of this pool that is currently acquired. Never throws. */
  isInUse(slot: number): boolean {
    return Number.isInteger(slot) && slot >= 0 && slot < this.capacity && this.#inUse[slot] === 1;
  }

  /**
   * The first `length` bytes of an acquired slot, as a fresh view over the shared memory.
   *
   * @throws RangeError for a foreign index or a length outside `[0, slotBytes]`; Error when
   *   the slot is not in use.
   */
  view(slot: number, length: number): Uint8Array {
    this.#checkIndex('view', slot);
    if (!Number.isInteger(length) || length < 0 || length > this.slotBytes) {
      throw new RangeError(`SlotPool.view: length must be an integer in [0, ${this.slotBytes}], got ${String(length)}`);
    }
    if (this.#inUse[slot] !== 1) throw new Error(`SlotPool.view: slot ${slot} is not in use`);
    return new Uint8Array(this.#sab, this.#base + slot * this.#stride, length);
  }

  #checkIndex(operation: string, slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.capacity) {
      throw new RangeError(`SlotPool.${operation}: ${String(slot)} is not a slot index of this pool ([0, ${this.capacity}))`);
    }
  }
}
