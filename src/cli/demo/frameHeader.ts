/**
 * The little header the demo's synthetic camera burns into the first bytes of every frame
 * (row 0, top-left), the way real capture devices stamp a frame counter into the picture.
 * The detector reads it back to know which frame it is looking at; the demo corrupts it once,
 * on purpose, to crash the isolated detector.
 *
 * Layout (16 bytes, little-endian):
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic `SEAM` |
 * | 4 | 1 | version (1) |
 * | 5 | 1 | header length (16) |
 * | 6 | 2 | reserved (0) |
 * | 8 | 4 | frame index |
 * | 12 | 4 | check: frame index XOR {@link HEADER_CHECK_KEY} |
 */

/** Bytes the header occupies at the start of a frame. */
export const FRAME_HEADER_BYTES = 16;

const MAGIC = 0x4d414553; // 'SEAM' read as a little-endian u32
const VERSION = 1;
/** XORed into the frame index so a header of random bytes does not pass by chance. */
export const HEADER_CHECK_KEY = 0x5ea45ea4;

/** What the header says. */
export interface FrameHeader {
  readonly frameIndex: number;
}

/**
 * A frame whose header does not parse: the synthetic camera never writes one, except the
 * poisoned frame of the demo.
 */
export class CorruptFrameHeader extends Error {
  override readonly name = 'CorruptFrameHeader';
}

function view(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Writes the header of frame `frameIndex` into the first {@link FRAME_HEADER_BYTES} of `data`.
 *
 * @example
 * ```ts
 * writeFrameHeader(slot.data, 42);
 * readFrameHeader(slot.data).frameIndex; // 42
 * ```
 */
export function writeFrameHeader(data: Uint8Array, frameIndex: number): void {
  const v = view(data);
  v.setUint32(0, MAGIC, true);
  v.setUint8(4, VERSION);
  v.setUint8(5, FRAME_HEADER_BYTES);
  v.setUint16(6, 0, true);
  v.setUint32(8, frameIndex >>> 0, true);
  v.setUint32(12, (frameIndex ^ HEADER_CHECK_KEY) >>> 0, true);
}

/**
 * Corrupts the header in place (what a flaky capture card or a bit flip on the wire would
 * do): every header byte becomes 0xFF.
 */
export function corruptFrameHeader(data: Uint8Array): void {
  data.fill(0xff, 0, Math.min(FRAME_HEADER_BYTES, data.byteLength));
}

/**
 * Reads the header back; throws {@link CorruptFrameHeader} when any field is wrong.
 *
 * @example
 * ```ts
 * const { frameIndex } = readFrameHeader(frame.data);
 * ```
 */
export function readFrameHeader(data: Uint8Array): FrameHeader {
  if (data.byteLength < FRAME_HEADER_BYTES) throw new CorruptFrameHeader(`frame of ${data.byteLength} bytes has no room for a header`);
  const v = view(data);
  const magic = v.getUint32(0, true);
  if (magic !== MAGIC) throw new CorruptFrameHeader(`bad magic 0x${magic.toString(16).padStart(8, '0')}`);
  const version = v.getUint8(4);
  if (version !== VERSION) throw new CorruptFrameHeader(`unknown version ${version}`);
  const length = v.getUint8(5);
  if (length !== FRAME_HEADER_BYTES) throw new CorruptFrameHeader(`header length ${length}, expected ${FRAME_HEADER_BYTES}`);
  const frameIndex = v.getUint32(8, true);
  if (((frameIndex ^ HEADER_CHECK_KEY) >>> 0) !== v.getUint32(12, true)) throw new CorruptFrameHeader(`check mismatch for frame ${frameIndex}`);
  return { frameIndex };
}
