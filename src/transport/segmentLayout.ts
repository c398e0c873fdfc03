/**
 * Byte layout of the shared-memory segment that carries frames between a host and a guest.
 *
 * Both sides compute the layout from the same three numbers (`slots`, `slotBytes`,
 * `ringCapacity`) with the same function, pinned by {@link SEGMENT_LAYOUT_VERSION}; the header
 * only carries those numbers, never offsets, so a hostile guest cannot steer the host to an
 * offset of its choosing. The host never re-reads the header after writing it: it keeps its
 * own {@link SegmentLayout}. Only the side that maps a segment it did not create (the guest)
 * calls {@link readSegmentHeader}.
 *
 * ```text
 * 0      header (64 B)
 * 64     submit ring:   head line | tail line | consumer park line | producer park line | descriptors | payloads
 * ...    complete ring: head line | tail line | consumer park line | producer park line | descriptors | payloads
 * ...    slot pool: `slots` × `slotStride` (each slot 64-byte aligned)
 * ```
 */

/** Cache-line size the layout aligns to, so words written by different sides never share a line. */
export const CACHE_LINE_BYTES = 64;

/** Bytes of one ring descriptor: one cache line, so the producer filling the next descriptor never invalidates the line the consumer is reading. */
export const DESCRIPTOR_BYTES = 64;

/**
 * Bytes of payload each ring entry carries with its descriptor, at the same index: a small
 * value (a short string) travels with its descriptor instead of in a slot or on a port.
 */
export const RING_PAYLOAD_BYTES = 256;

/** Bytes of the segment header. */
export const HEADER_BYTES = 64;

/** `'SEAM'` read as a little-endian u32: what {@link readSegmentHeader} expects in word 0. */
export const SEGMENT_MAGIC = 0x4d414553;

/** Version of this layout function; bumped whenever an offset or a header word changes meaning. */
export const SEGMENT_LAYOUT_VERSION = 2;

/** Largest number of slots a segment may have. */
export const MAX_SLOTS = 4096;

/** Largest usable size of one slot (1 GiB): a length must fit an i32 for every consumer. */
export const MAX_SLOT_BYTES = 2 ** 30;

/** Largest ring capacity (descriptors per ring). */
export const MAX_RING_CAPACITY = 2 ** 16;

/** Largest segment (4 GiB): beyond that a mapping is a configuration error, not a frame pool. */
export const MAX_SEGMENT_BYTES = 2 ** 32;

/** Word indices (u32) of the header fields. */
const H_MAGIC = 0;
const H_VERSION = 1;
const H_EPOCH_LO = 2;
const H_EPOCH_HI = 3;
const H_GENERATION = 4;
const H_SLOTS = 5;
const H_SLOT_BYTES = 6;
const H_RING_CAPACITY = 7;
const HEADER_WORDS = HEADER_BYTES / 4;

const TWO_POW_32 = 2 ** 32;
/** Largest high word of a safe integer split into two u32 words (2^53 - 1 >> 32). */
const MAX_SAFE_HI = 2 ** 21 - 1;

/** What {@link computeSegmentLayout} needs to know. */
export interface SegmentParams {
  /** Number of frame slots. */
  readonly slots: number;
  /** Usable bytes per slot: the largest payload a descriptor may name. */
  readonly slotBytes: number;
  /** Descriptors per ring; a power of two so u32 counters map onto indices across wraparound. */
  readonly ringCapacity: number;
}

/** Byte offsets of one single-producer/single-consumer descriptor ring. */
export interface RingLayout {
  /** Descriptors the ring holds. */
  readonly capacity: number;
  /** u32 consumer counter, alone in its cache line. */
  readonly headOffset: number;
  /** u32 producer counter, alone in its cache line. */
  readonly tailOffset: number;
  /** Int32 park flag of the consumer (it sleeps when the ring is empty; the producer rings it). */
  readonly consumerParkOffset: number;
  /** Int32 park flag of the producer (it sleeps when the ring is full; the consumer rings it). */
  readonly producerParkOffset: number;
  /** `capacity` descriptors of {@link DESCRIPTOR_BYTES} each. */
  readonly descriptorsOffset: number;
  /** `capacity` payload areas of `payloadBytes` each: entry `i`'s at `payloadOffset + i * payloadBytes`. */
  readonly payloadOffset: number;
  /** Bytes of payload per entry ({@link RING_PAYLOAD_BYTES}). */
  readonly payloadBytes: number;
  /** Bytes from `headOffset` to the end of the descriptors. */
  readonly byteLength: number;
}

/** Where everything lives in a segment. Every offset is a multiple of {@link CACHE_LINE_BYTES}. */
export interface SegmentLayout extends SegmentParams {
  /** Bytes between the starts of two consecutive slots: `slotBytes` rounded up to 64. */
  readonly slotStride: number;
  /** The header is at offset 0. */
  readonly headerOffset: 0;
  readonly headerBytes: number;
  /** Host → guest ring (work to do). */
  readonly submit: RingLayout;
  /** Guest → host ring (work done, outcomes). */
  readonly complete: RingLayout;
  /** Offset of slot 0; slot `i` starts at `slotsOffset + i * slotStride`. */
  readonly slotsOffset: number;
  /** Bytes the segment needs; a mapping may be larger (page rounding), never smaller. */
  readonly totalBytes: number;
}

/** The header fields, as written by the host. */
export interface SegmentHeader extends SegmentParams {
  readonly version: number;
  /** Identifies the segment's owner incarnation; a safe integer stored as two u32 words. */
  readonly epoch: number;
  /** Generation of the guest the segment serves; descriptors carry it too. */
  readonly generation: number;
}

/** Why a header was refused by {@link readSegmentHeader}. */
export type SegmentHeaderProblem = 'too_small' | 'magic' | 'version' | 'params' | 'byte_length' | 'epoch';

/** Result of {@link readSegmentHeader}: a mapped segment is validated, never trusted. */
export type SegmentHeaderResult =
  | { readonly ok: true; readonly header: SegmentHeader; readonly layout: SegmentLayout }
  | { readonly ok: false; readonly problem: SegmentHeaderProblem; readonly detail: string };

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`computeSegmentLayout: ${name} must be a safe integer in [${min}, ${max}], got ${String(value)}`);
  }
}

function ringAt(offset: number, capacity: number): RingLayout {
  const headOffset = offset;
  const tailOffset = headOffset + CACHE_LINE_BYTES;
  const consumerParkOffset = tailOffset + CACHE_LINE_BYTES;
  const producerParkOffset = consumerParkOffset + CACHE_LINE_BYTES;
  const descriptorsOffset = producerParkOffset + CACHE_LINE_BYTES;
  const payloadOffset = descriptorsOffset + capacity * DESCRIPTOR_BYTES;
  const end = payloadOffset + capacity * RING_PAYLOAD_BYTES;
  return Object.freeze({
    capacity,
    headOffset,
    tailOffset,
    consumerParkOffset,
    producerParkOffset,
    descriptorsOffset,
    payloadOffset,
    payloadBytes: RING_PAYLOAD_BYTES,
    byteLength: end - headOffset,
  });
}

/**
 * Computes where the header, both rings, their park flags and the slots live.
 *
 * @throws RangeError when a parameter is not a safe integer within its cap, `ringCapacity` is
 *   not a power of two, or the segment would exceed {@link MAX_SEGMENT_BYTES}.
 */
export function computeSegmentLayout(params: SegmentParams): SegmentLayout {
  const { slots, slotBytes, ringCapacity } = params;
  checkInteger('slots', slots, 1, MAX_SLOTS);
  checkInteger('slotBytes', slotBytes, 1, MAX_SLOT_BYTES);
  checkInteger('ringCapacity', ringCapacity, 1, MAX_RING_CAPACITY);
  // A power of two divides 2^32, so `counter & (capacity - 1)` stays continuous when the u32
  // counters wrap; any other capacity would jump indices at the wrap.
  if ((ringCapacity & (ringCapacity - 1)) !== 0) {
    throw new RangeError(`computeSegmentLayout: ringCapacity must be a power of two, got ${ringCapacity}`);
  }
  const slotStride = alignUp(slotBytes, CACHE_LINE_BYTES);
  const submit = ringAt(HEADER_BYTES, ringCapacity);
  const complete = ringAt(submit.headOffset + submit.byteLength, ringCapacity);
  const slotsOffset = alignUp(complete.headOffset + complete.byteLength, CACHE_LINE_BYTES);
  const totalBytes = slotsOffset + slots * slotStride;
  if (totalBytes > MAX_SEGMENT_BYTES) {
    throw new RangeError(
      `computeSegmentLayout: ${slots} slots of ${slotBytes} bytes need ${totalBytes} bytes, more than the ${MAX_SEGMENT_BYTES}-byte cap`,
    );
  }
  return Object.freeze({
    slots,
    slotBytes,
    ringCapacity,
    slotStride,
    headerOffset: 0,
    headerBytes: HEADER_BYTES,
    submit,
    complete,
    slotsOffset,
    totalBytes,
  });
}

/**
 * Writes the header of a segment the host created. The magic is stored last, with
 * `Atomics.store`, so a side that sees the magic also sees every other field.
 *
 * @throws RangeError when the buffer is smaller than `layout.totalBytes`, `epoch` is not a
 *   non-negative safe integer or `generation` is not a u32.
 */
export function writeSegmentHeader(
  sab: SharedArrayBuffer,
  layout: SegmentLayout,
  ids: { readonly epoch: number; readonly generation: number },
): void {
  if (sab.byteLength < layout.totalBytes) {
    throw new RangeError(`writeSegmentHeader: the buffer has ${sab.byteLength} bytes, the layout needs ${layout.totalBytes}`);
  }
  if (!Number.isSafeInteger(ids.epoch) || ids.epoch < 0) {
    throw new RangeError(`writeSegmentHeader: epoch must be a non-negative safe integer, got ${String(ids.epoch)}`);
  }
  if (!Number.isInteger(ids.generation) || ids.generation < 0 || ids.generation >= TWO_POW_32) {
    throw new RangeError(`writeSegmentHeader: generation must be a u32, got ${String(ids.generation)}`);
  }
  const words = new Uint32Array(sab, 0, HEADER_WORDS);
  Atomics.store(words, H_MAGIC, 0);
  words[H_VERSION] = SEGMENT_LAYOUT_VERSION;
  words[H_EPOCH_LO] = ids.epoch >>> 0;
  words[H_EPOCH_HI] = Math.floor(ids.epoch / TWO_POW_32);
  words[H_GENERATION] = ids.generation;
  words[H_SLOTS] = layout.slots;
  words[H_SLOT_BYTES] = layout.slotBytes;
  words[H_RING_CAPACITY] = layout.ringCapacity;
  Atomics.store(words, H_MAGIC, SEGMENT_MAGIC);
}

/**
 * Reads and validates the header of a mapped segment: magic, layout version, parameters
 * within their caps, and a layout that fits the buffer's actual `byteLength`. Each word is
 * read once. Never throws for bad contents: the answer is a typed result.
 */
export function readSegmentHeader(sab: SharedArrayBuffer): SegmentHeaderResult {
  if (sab.byteLength < HEADER_BYTES) {
    return { ok: false, problem: 'too_small', detail: `the buffer has ${sab.byteLength} bytes, less than the ${HEADER_BYTES}-byte header` };
  }
  const words = new Uint32Array(sab, 0, HEADER_WORDS);
  // Magic first, with Atomics.load: pairs with the host's final Atomics.store of the magic.
  const magic = Atomics.load(words, H_MAGIC);
  if (magic !== SEGMENT_MAGIC) {
    return { ok: false, problem: 'magic', detail: `magic is 0x${magic.toString(16)}, expected 0x${SEGMENT_MAGIC.toString(16)}` };
  }
  const version = Atomics.load(words, H_VERSION);
  if (version !== SEGMENT_LAYOUT_VERSION) {
    return { ok: false, problem: 'version', detail: `layout version is ${version}, this side speaks ${SEGMENT_LAYOUT_VERSION}` };
  }
  const epochLo = Atomics.load(words, H_EPOCH_LO);
  const epochHi = Atomics.load(words, H_EPOCH_HI);
  if (epochHi > MAX_SAFE_HI) {
    return { ok: false, problem: 'epoch', detail: `epoch high word 0x${epochHi.toString(16)} makes the epoch unsafe` };
  }
  const generation = Atomics.load(words, H_GENERATION);
  const slots = Atomics.load(words, H_SLOTS);
  const slotBytes = Atomics.load(words, H_SLOT_BYTES);
  const ringCapacity = Atomics.load(words, H_RING_CAPACITY);
  let layout: SegmentLayout;
  try {
    layout = computeSegmentLayout({ slots, slotBytes, ringCapacity });
  } catch (error) {
    return { ok: false, problem: 'params', detail: error instanceof Error ? error.message : String(error) };
  }
  if (layout.totalBytes > sab.byteLength) {
    return {
      ok: false,
      problem: 'byte_length',
      detail: `the header describes ${layout.totalBytes} bytes, the buffer has ${sab.byteLength}`,
    };
  }
  const header: SegmentHeader = {
    version,
    epoch: epochHi * TWO_POW_32 + epochLo,
    generation,
    slots,
    slotBytes,
    ringCapacity,
  };
  return { ok: true, header, layout };
}
