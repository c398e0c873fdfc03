/**
 * Length-prefixed framing for a byte stream whose writer may be hostile: each frame is
 * `[u32 little-endian length][payload]`. The decoder is bounded (it never buffers more than
 * one frame, and checks the length before buffering anything of it), never throws into the
 * code that feeds it, and fails for good on the first broken rule. It knows bytes only: what
 * a payload means, and what to do about a violation, is its owner's business.
 */

/** Bytes of the length prefix. */
export const FRAME_PREFIX_BYTES = 4;

/** Largest length a u32 prefix can carry. */
const U32_MAX = 0xffff_ffff;

/** Which rule the byte stream (or the decoder's owner) broke. */
export type FrameViolationKind =
  /** A prefix announced more than `maxFrameBytes`. Detected from the 4 prefix bytes alone. */
  | 'frame_too_large'
  /** A prefix announced 0 bytes (see {@link FrameDecoder} for why that is refused). */
  | 'empty_frame'
  /** {@link FrameDecoder.end} was called in the middle of a prefix or a payload. */
  | 'truncated'
  /** `push` was given something that is not a `Uint8Array` (e.g. a string from `setEncoding`). */
  | 'invalid_chunk'
  /** The `onFrame` callback threw: the decoder cannot know which frames the owner consumed. */
  | 'handler_threw';

/** A broken rule, reported once through {@link FrameDecoderOptions.onViolation}. Never thrown. */
export interface FrameViolation {
  readonly violation: FrameViolationKind;
  /** What was wrong and where, for a log line. Never contains payload bytes. */
  readonly detail: string;
  /** Stream offset (bytes pushed before the offending byte) at which the rule broke. */
  readonly offset: number;
  /** For `handler_threw`: what the callback threw. */
  readonly cause?: unknown;
}

/** How a {@link FrameDecoder} is set up. */
export interface FrameDecoderOptions {
  /** Largest payload accepted, in bytes: an integer in [1, 2^32 - 1]. */
  readonly maxFrameBytes: number;
  /**
   * Called once per complete frame, in stream order, synchronously from `push`. The payload
   * is a view that stays valid and unchanged for as long as the owner keeps it (see
   * {@link FrameDecoder}); it is never empty and never longer than `maxFrameBytes`.
   */
  readonly onFrame: (payload: Uint8Array) => void;
  /** Called at most once, with the first violation. An exception it throws is swallowed. */
  readonly onViolation?: (violation: FrameViolation) => void;
  /**
   * The buffer a frame spanning chunks is assembled in, `length` bytes exactly (its length
   * already checked); default a new `Uint8Array`. The owner may hand back one it had before
   * (a payload it is done with), so frames of one size reuse their memory.
   */
  readonly allocate?: (length: number) => Uint8Array;
}

/** What a decoder is doing: decoding, failed (sticky, after a violation) or closed by its owner. */
export type FrameDecoderState = 'open' | 'failed' | 'closed';

/**
 * Decodes `[u32 LE length][payload]` frames from chunks split anywhere (inside the prefix
 * too), handing each payload to `onFrame` in order.
 *
 * **Payload lifetime.** A payload is a view, never a copy made for its own sake:
 * - a frame that lies entirely inside one pushed chunk is delivered as a `subarray` of that
 *   chunk (zero copy — the common case of small messages);
 * - a frame that spans chunks is assembled in a buffer allocated for that frame alone, once
 *   its prefix has been checked (by `allocate`, if given), and handed over; the decoder never
 *   reuses it.
 * So `push` takes ownership of its chunk: the caller must not write to a chunk after pushing
 * it. A Node stream satisfies this (each `'data'` Buffer is fresh), so the host passes its
 * chunks straight in, and a payload stays valid after `onFrame` returns and after later
 * pushes. A payload may share its ArrayBuffer with neighbouring frames of the same chunk; a
 * consumer that keeps bytes long-term, or exposes `payload.buffer`, copies what it keeps.
 *
 * **Bounds.** A prefix above `maxFrameBytes` is a violation before a byte of its payload is
 * stored, so a 2 GiB prefix allocates nothing. Apart from the chunk being processed, the
 * decoder holds at most one partial frame (≤ `maxFrameBytes`) and a 4-byte partial prefix:
 * bytes left over at the end of a chunk are copied out, so no chunk is retained.
 *
 * **Zero-length frames are a violation** (`empty_frame`). Every message of the protocols
 * this transport carries serializes to at least a header, so an empty frame can only come
 * from a broken or hostile writer — and it is the cheapest flood there is (4 bytes per
 * callback). {@link encodeFrame} refuses to write one.
 *
 * **Failure.** The first broken rule makes the decoder `failed`: it is reported once to
 * `onViolation`, the rest of the current chunk and every later push are ignored, and what
 * was buffered is released. `push` and `end` never throw. The owner's answer to a violation
 * is to end the writer, not to resynchronise with it (a stream cannot be re-framed safely).
 *
 * **Re-entrancy.** `onFrame` may call {@link FrameDecoder.close} (e.g. when the payload fails
 * validation): no further frame is delivered, not even from the current chunk. A `push` from
 * inside `onFrame` is queued and decoded after the current chunk, in order.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  readonly #onFrame: (payload: Uint8Array) => void;
  readonly #onViolation: ((violation: FrameViolation) => void) | undefined;
  readonly #allocate: (length: number) => Uint8Array;
  #state: FrameDecoderState = 'open';
  #violation: FrameViolation | undefined;
  /** Bytes of a prefix split across chunks. */
  readonly #prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  #prefixHave = 0;
  /** The frame being assembled across chunks, sized exactly to its checked length. */
  #frame: Uint8Array | undefined;
  #frameHave = 0;
  /** Bytes consumed from the stream so far (for violation offsets). */
  #offset = 0;
  #frames = 0;
  #delivering = false;
  /** Chunks pushed from inside `onFrame`, decoded once the current chunk is done. */
  #queued: Uint8Array[] = [];

  /**
   * @throws RangeError when `maxFrameBytes` is not an integer in [1, 2^32 - 1] — a
   * configuration error of the trusted owner, reported where it is made.
   */
  constructor(options: FrameDecoderOptions) {
    const { maxFrameBytes } = options;
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > U32_MAX) {
      throw new RangeError(`FrameDecoder: maxFrameBytes must be an integer in [1, ${U32_MAX}], got ${String(maxFrameBytes)}`);
    }
    this.maxFrameBytes = maxFrameBytes;
    this.#onFrame = options.onFrame;
    this.#onViolation = options.onViolation;
    this.#allocate = options.allocate ?? ((length) => new Uint8Array(length));
  }

  /** `open`, `failed` (after a violation) or `closed` (by {@link close} or {@link end}). */
  get state(): FrameDecoderState {
    return this.#state;
  }

  /** The violation that failed the decoder, if any. Sticky. */
  get violation(): FrameViolation | undefined {
    return this.#violation;
  }

  /** Frames delivered so far. */
  get framesDelivered(): number {
    return this.#frames;
  }

  /** Bytes held between pushes: a partial prefix plus a partial frame's buffer (allocated size). */
  get bufferedBytes(): number {
    return this.#prefixHave + (this.#frame?.byteLength ?? 0);
  }

  /** Feeds bytes. Never throws; does nothing once the decoder is failed or closed. */
  push(chunk: Uint8Array): void {
    if (this.#state !== 'open') return;
    // A typed signature does not stop a stream in string mode from calling us.
    if (!(chunk instanceof Uint8Array)) {
      this.#fail('invalid_chunk', `expected a Uint8Array chunk, got ${describeChunk(chunk)}`);
      return;
    }
    if (this.#delivering) {
      this.#queued.push(chunk);
      return;
    }
    this.#delivering = true;
    try {
      this.#consume(chunk);
      for (let next = this.#queued.shift(); next !== undefined && this.#state === 'open'; next = this.#queued.shift()) {
        this.#consume(next);
      }
    } finally {
      this.#delivering = false;
      if (this.#state !== 'open') this.#queued = [];
    }
  }

  /**
   * The stream ended. A partial prefix or payload is a `truncated` violation; otherwise the
   * decoder closes quietly. Never throws.
   */
  end(): void {
    if (this.#state !== 'open') return;
    if (this.#prefixHave > 0) {
      this.#fail('truncated', `stream ended after ${this.#prefixHave} of ${FRAME_PREFIX_BYTES} prefix bytes`);
    } else if (this.#frame !== undefined) {
      this.#fail('truncated', `stream ended after ${this.#frameHave} of ${this.#frame.byteLength} payload bytes`);
    } else {
      this.close();
    }
  }

  /**
   * Stops decoding without a violation (the owner has its own reason, e.g. a payload that
   * failed validation): no further frame is delivered, even from the chunk being decoded.
   */
  close(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closed';
    this.#release();
  }

  #consume(chunk: Uint8Array): void {
    const end = chunk.byteLength;
    let pos = 0;
    while (pos < end && this.#state === 'open') {
      if (this.#frame === undefined) {
        let length: number;
        if (this.#prefixHave === 0 && end - pos >= FRAME_PREFIX_BYTES) {
          length = readU32(chunk, pos);
          pos += FRAME_PREFIX_BYTES;
        } else {
          const n = Math.min(FRAME_PREFIX_BYTES - this.#prefixHave, end - pos);
          this.#prefix.set(chunk.subarray(pos, pos + n), this.#prefixHave);
          this.#prefixHave += n;
          pos += n;
          if (this.#prefixHave < FRAME_PREFIX_BYTES) break;
          this.#prefixHave = 0;
          length = readU32(this.#prefix, 0);
        }
        const prefixAt = this.#offset + pos - FRAME_PREFIX_BYTES;
        // The length is checked before any byte of the payload is stored or allocated for.
        if (length > this.maxFrameBytes) {
          this.#fail('frame_too_large', `frame ${this.#frames + 1} announces ${length} bytes, above the limit of ${this.maxFrameBytes}`, prefixAt);
          return;
        }
        if (length === 0) {
          this.#fail('empty_frame', `frame ${this.#frames + 1} announces 0 bytes`, prefixAt);
          return;
        }
        if (end - pos >= length) {
          // Whole frame inside this chunk: hand a view of it, no copy.
          const payload = chunk.subarray(pos, pos + length);
          pos += length;
          this.#deliver(payload, pos);
          continue;
        }
        // Allocated only now, at the checked size: at most maxFrameBytes.
        const frame = this.#allocate(length);
        if (frame.byteLength !== length) {
          this.#fail('handler_threw', `allocate(${length}) gave ${frame.byteLength} bytes`, prefixAt);
          return;
        }
        this.#frame = frame;
        this.#frameHave = 0;
      }
      const frame = this.#frame;
      const n = Math.min(frame.byteLength - this.#frameHave, end - pos);
      frame.set(chunk.subarray(pos, pos + n), this.#frameHave);
      this.#frameHave += n;
      pos += n;
      if (this.#frameHave === frame.byteLength) {
        this.#frame = undefined;
        this.#frameHave = 0;
        this.#deliver(frame, pos);
      }
    }
    if (this.#state === 'open') this.#offset += end;
  }

  /** `pos` is where the frame ended in the current chunk, to compute a violation's stream offset. */
  #deliver(payload: Uint8Array, pos: number): void {
    this.#frames += 1;
    try {
      this.#onFrame(payload);
    } catch (error) {
      // Never let the owner's exception escape into a stream's 'data' handler (where it would
      // be an uncaughtException); the stream position is now unknowable to the owner.
      this.#fail('handler_threw', `onFrame threw on frame ${this.#frames}: ${describeError(error)}`, this.#offset + pos, error);
    }
  }

  #fail(violation: FrameViolationKind, detail: string, offset = this.#offset, cause?: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#release();
    const report: FrameViolation = Object.freeze(cause === undefined ? { violation, detail, offset } : { violation, detail, offset, cause });
    this.#violation = report;
    try {
      this.#onViolation?.(report);
    } catch {
      // Reported once, by contract; an owner that throws here has nowhere else to be told.
    }
  }

  #release(): void {
    this.#frame = undefined;
    this.#frameHave = 0;
    this.#prefixHave = 0;
    this.#queued = [];
  }
}

/**
 * Encodes one frame: a new buffer holding the 4-byte little-endian length and a copy of
 * `payload`. One allocation and one copy of the payload, so the frame goes out in a single
 * `write()` — no interleaving with other writers, no `cork()` needed: for messages, which
 * are small, a memcpy is cheaper than a second write. (Large payloads — the isolated host's
 * frame bytes — are written after a 4-byte prefix of their own instead, uncopied, the
 * writer keeping the two together.)
 *
 * @param maxFrameBytes the receiver's limit, checked here so a too-large message fails at
 *   its sender with a clear error instead of killing the peer. Default 2^32 - 1.
 * @throws RangeError when the payload is empty or longer than `maxFrameBytes` (a bug of the
 *   trusted sender, not a peer fault).
 */
export function encodeFrame(payload: Uint8Array, maxFrameBytes: number = U32_MAX): Uint8Array {
  const length = payload.byteLength;
  if (length === 0) throw new RangeError('encodeFrame: a frame payload must not be empty');
  if (length > maxFrameBytes || length > U32_MAX) {
    throw new RangeError(`encodeFrame: payload of ${length} bytes is above the limit of ${Math.min(maxFrameBytes, U32_MAX)}`);
  }
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + length);
  frame[0] = length & 0xff;
  frame[1] = (length >>> 8) & 0xff;
  frame[2] = (length >>> 16) & 0xff;
  frame[3] = (length >>> 24) & 0xff;
  frame.set(payload, FRAME_PREFIX_BYTES);
  return frame;
}

/** Reads a u32 little-endian; `bytes` holds at least 4 bytes from `at` (checked by callers). */
function readU32(bytes: Uint8Array, at: number): number {
  // `>>> 0`-free form: the top byte is multiplied, so a set high bit stays positive.
  return ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16)) + (bytes[at + 3] ?? 0) * 0x100_0000;
}

function describeChunk(chunk: unknown): string {
  if (chunk === null) return 'null';
  if (typeof chunk === 'string') return `a string of ${chunk.length} characters`;
  return typeof chunk;
}

function describeError(error: unknown): string {
  try {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return 'an unprintable value';
  }
}
