/**
 * The wire protocol between the host and an out-of-thread guest (a worker thread or a
 * child process): a version, the launch data, the closed union of data-port messages,
 * the kinds of ring descriptors, and the frame format codes. Host and guest share only this
 * file (and the transport it names).
 *
 * Two planes:
 * - control: Comlink calls `start()` and `stop()` on the guest's {@link GuestControl};
 * - data: frames travel as descriptors on the submit ring with their bytes in shared slots,
 *   their `done` outcomes come back on the complete ring; messages whose value is a small
 *   primitive (see {@link encodeRingValue}) travel on the submit ring too, with the value in
 *   the entry's payload area, and so do such results on the complete ring; everything else
 *   (other messages, frames that are not in a shared slot, outputs, logs, other results,
 *   failures) travels as {@link HostToGuest} / {@link GuestToHost} messages on the data port.
 *
 * On the embedded data port a post may carry an array of these messages (one turn's worth),
 * applied in order.
 *
 * Ordering across the two planes:
 * - host → guest: every delivery carries `dseq`, consecutive per generation from 1; the
 *   guest runs deliveries strictly in `dseq` order, whichever plane brought them.
 * - guest → host: a `done` or `value` descriptor carries in `aux` the number of data-port
 *   messages the guest had posted before it; the host applies it only once it has received that many, so
 *   the outputs of an input always arrive before its outcome.
 */

import { Buffer } from 'node:buffer';
import { serialize } from 'node:v8';

/** Bumped on any incompatible change; the guest refuses a launch of another version. */
export const PROTOCOL_VERSION = 5;

/** Descriptor kinds on the submit ring (host → guest): a frame in a shared slot. */
export const SUBMIT_FRAME = 0;
/** A message whose value is in the descriptor (see {@link encodeRingValue}). */
export const SUBMIT_MESSAGE = 1;
/** Number of submit kinds (descriptor `kind` must be below it). */
export const SUBMIT_KINDS = 2;

/** Descriptor kinds on the complete ring (guest → host): a frame or message done, no value. */
export const COMPLETE_DONE = 0;
/** A message done with the value in the descriptor (see {@link encodeRingValue}). */
export const COMPLETE_VALUE = 1;
/** Number of complete kinds. */
export const COMPLETE_KINDS = 2;

/** Whether a submit kind carries its value in the entry's payload area. */
export function submitInPayload(kind: number): boolean {
  return kind === SUBMIT_MESSAGE;
}

/** Whether a submit kind may carry `extra` bytes in the entry's payload area: a frame's format name (FORMAT_NAMED). */
export function submitWithExtra(kind: number): boolean {
  return kind === SUBMIT_FRAME;
}

/** Whether a complete kind carries its value in the entry's payload area. */
export function completeInPayload(kind: number): boolean {
  return kind === COMPLETE_VALUE;
}

/** A value's ring encoding: `tag` goes in the descriptor's `formatCode`, a number in its `timestamp`. */
export interface RingValue {
  tag: number;
  number: number;
  /** Payload bytes (a string's UTF-8). */
  length: number;
}

const VALUE_UNDEFINED = 0;
const VALUE_NULL = 1;
const VALUE_FALSE = 2;
const VALUE_TRUE = 3;
const VALUE_NUMBER = 4;
const VALUE_STRING = 5;
/** Tags below this are values; any other is a protocol violation. */
export const RING_VALUE_TAGS = 6;

const UTF8 = new TextEncoder();

/** `String.prototype.isWellFormed` (ES2024, Node 20+), which the ES2023 lib does not declare. */
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;

/**
 * Encodes `value` for a ring entry into `out` (and a string's bytes into `area`, the entry's
 * payload area) when it is a primitive that survives the trip exactly: undefined, null, a
 * boolean, any number, or a well-formed string of at most `area.byteLength` UTF-8 bytes.
 * False for anything else, which then travels by message, cloned. No allocation.
 */
export function encodeRingValue(value: unknown, area: Buffer, out: RingValue): boolean {
  out.number = 0;
  out.length = 0;
  switch (typeof value) {
    case 'undefined':
      out.tag = VALUE_UNDEFINED;
      return true;
    case 'boolean':
      out.tag = value ? VALUE_TRUE : VALUE_FALSE;
      return true;
    case 'number':
      out.tag = VALUE_NUMBER;
      out.number = value;
      return true;
    case 'string': {
      // A lone surrogate would come back as U+FFFD: such a string goes by message.
      if (!isWellFormed.call(value)) return false;
      // encodeInto writes whole characters while they fit and says how many it read: a
      // string it did not finish does not fit. About half the cost of Buffer#write for a
      // short string (~80 against ~150 ns for 64 characters), once per message each way.
      const { read, written } = UTF8.encodeInto(value, area);
      if (read !== value.length) return false;
      out.tag = VALUE_STRING;
      out.length = written;
      return true;
    }
    case 'object':
      if (value !== null) return false;
      out.tag = VALUE_NULL;
      return true;
    default:
      return false;
  }
}

/** What {@link decodeRingValue} returns for a tag that names no value. */
export const INVALID_RING_VALUE: unique symbol = Symbol('invalid ring value');

/**
 * Decodes a ring value from a descriptor's `formatCode` (tag) and `timestamp`, and its
 * payload: a private copy (never shared memory the peer can still write). Any bytes decode
 * (invalid UTF-8 becomes U+FFFD); an unknown tag is {@link INVALID_RING_VALUE}.
 */
export function decodeRingValue(tag: number, number: number, payload: Buffer, length: number): unknown {
  switch (tag) {
    case VALUE_UNDEFINED:
      return undefined;
    case VALUE_NULL:
      return null;
    case VALUE_FALSE:
      return false;
    case VALUE_TRUE:
      return true;
    case VALUE_NUMBER:
      return number;
    case VALUE_STRING:
      return payload.toString('utf8', 0, length);
    default:
      return INVALID_RING_VALUE;
  }
}

/** Words of the control block (an Int32Array over a small SharedArrayBuffer). */
export const CONTROL_HEARTBEAT = 0;
/** The `dseq` of the last delivery the guest handed to the plugin. */
export const CONTROL_STARTED = 1;
/**
 * Set by the host when the generation ends. The guest publishes `CONTROL_STARTED`, then
 * reads the fence; the host raises the fence, then reads `CONTROL_STARTED`. With
 * sequentially consistent atomics, a delivery the host counts as never started is one the
 * guest will never start, so the runtime may give it to the next generation.
 */
export const CONTROL_FENCE = 2;
/**
 * The guest's ArrayBuffer/Buffer memory in MiB (`external_memory` of its isolate), updated
 * with each heartbeat: `resourceLimits` do not bound it (RELIABILITY E3), the host does.
 */
export const CONTROL_EXTERNAL_MB = 3;
/**
 * The last `dseq` the host handed over by message (port or pipe), stored before it posts and
 * rings. A guest about to sleep in a blocking wait, which reads no message, re-checks it after
 * raising its park flag: a delivery on its way by message keeps it from sleeping, and the
 * host's ring cannot be lost in between (it stores, then reads the flag; the guest raises the
 * flag, then reads this).
 */
export const CONTROL_POSTED = 4;
/**
 * Embedded mode: the data-plane messages (outputs, logs, outcomes by message) the host has
 * applied, stored after each batch it received. The guest holds an output or log back while
 * it has posted EMBEDDED_OUTPUT_WINDOW more than that: a port has no backpressure, and a
 * plugin emitting faster than the application consumed filled the host's memory and held its
 * event loop for as long as the backlog took (RELIABILITY C2). Isolated mode paces its reader
 * instead (ReadThrottle).
 */
export const CONTROL_RECEIVED = 5;
/**
 * The guest's old generation in use (what `limits.maxHeapMb` bounds), in whole MiB rounded
 * down, stored before each heartbeat: a heartbeat missed by a plugin near that limit is a
 * collection that held its thread (V8 collects again and again before it gives up), not a
 * hang, and is classified `oom`.
 */
export const CONTROL_HEAP_MB = 6;

/** Messages an embedded guest may have in flight to the host (see CONTROL_RECEIVED). */
export const EMBEDDED_OUTPUT_WINDOW = 256;
/**
 * Bytes of outputs and logs an embedded guest may have in flight to the host besides one
 * message (however large): the host decodes what waits in the port in one go, and 256 outputs
 * of 8 MiB held its event loop for seconds and its memory at 2 GiB.
 */
export const EMBEDDED_OUTPUT_WINDOW_BYTES = 16 * 1024 * 1024;
/** Size of the control block in bytes. */
export const CONTROL_BYTES = 64;

/**
 * Frame formats that travel as a code in a descriptor; any other format's name travels in the
 * entry's payload area (FORMAT_NAMED), so a frame in a slot stays there whatever its format.
 */
export const FRAME_FORMATS: readonly string[] = [
  'gray',
  'gray16',
  'rgb',
  'rgba',
  'bgr',
  'bgra',
  'argb',
  'yuv420',
  'yuv422',
  'yuv444',
  'nv12',
  'nv21',
  'i420',
  'yuyv',
  'uyvy',
  'jpeg',
  'png',
  'h264',
  'raw',
  'depth16',
  'float32',
];

const FORMAT_CODES = new Map(FRAME_FORMATS.map((format, code) => [format, code]));

/**
 * The `formatCode` of a frame whose format is not in FRAME_FORMATS: its name is the entry's
 * `extra` bytes, UTF-16 code units, in its payload area ({@link encodeFormatName}).
 */
export const FORMAT_NAMED = 0xffff;

/**
 * Writes a format's name into an entry's payload area as its UTF-16 code units (64 bytes for
 * the longest, 32 characters): any string comes back the same, a lone surrogate included,
 * which UTF-8 would turn into U+FFFD. Its byte length, or undefined when it does not fit (that
 * frame then goes by message).
 */
export function encodeFormatName(format: string, area: Buffer): number | undefined {
  const written = area.write(format, 0, 'utf16le');
  return written === format.length * 2 ? written : undefined;
}

/** The format of a frame descriptor: its code's name, or its name from the payload (FORMAT_NAMED). */
export function decodeFormat(code: number, payload: Buffer, extra: number): string {
  if (code === FORMAT_NAMED) return payload.toString('utf16le', 0, extra);
  return FRAME_FORMATS[code] ?? 'raw';
}

/** The code of a frame format, or undefined when it has none. */
export function formatCode(format: string): number | undefined {
  // Frames of a stream share one format: the last answer is kept, a compare instead of a
  // Map lookup (a string hash, ~25 ns) per frame.
  if (format === lastFormat) return lastFormatCode;
  const code = FORMAT_CODES.get(format);
  lastFormat = format;
  lastFormatCode = code;
  return code;
}

let lastFormat = '';
let lastFormatCode: number | undefined;

/** The launch data a guest receives (as `workerData` for a worker). */
export interface GuestLaunch {
  readonly version: number;
  readonly instanceId: string;
  readonly generation: number;
  readonly moduleUrl: string;
  readonly config: unknown;
  /** Frame slots shared by every generation of the instance. */
  readonly frames: { readonly buffer: SharedArrayBuffer; readonly slots: number; readonly slotBytes: number; readonly slotStride: number; readonly slotsOffset: number };
  /** This generation's rings (a fresh buffer per generation). */
  readonly rings: { readonly buffer: SharedArrayBuffer; readonly capacity: number };
  /** The heartbeat/fence block (fresh per generation) at `byteOffset`, and the heartbeat deadline. */
  readonly control: { readonly buffer: SharedArrayBuffer; readonly byteOffset: number; readonly heartbeatMs: number };
  /** Whether an input error ends the generation (policy): the guest then starts no further input. */
  readonly haltOnInputError: boolean;
  /** `frames.poisonReleased`: poison a frame that came as a copy (by message) once its `onFrame` settled. */
  readonly poisonReleased: boolean;
}

/** What the embedded guest receives as `workerData`: the launch, its Comlink port, its ring layout. */
export interface EmbeddedLaunch extends GuestLaunch {
  readonly controlPort: import('node:worker_threads').MessagePort;
  readonly layout: import('../transport/segmentLayout.js').SegmentLayout;
  /**
   * The host wakes a guest in a blocking wait with the addon's futex wake (see
   * `futexDoorbell.ts`), so the guest must sleep in the addon's futex wait, not
   * `Atomics.wait`, or not block at all. False: `Atomics.wait`/`Atomics.notify`.
   */
  readonly futexDoorbell: boolean;
}

/**
 * A control reply. `start` and `stop` always resolve, with the number of data-plane messages
 * the guest had posted, even when the plugin threw: replies overtake the data plane (separate
 * channels), and a bare rejection would let the host fence the generation before what the
 * plugin emitted just before throwing has arrived.
 */
export type ControlReply =
  | { readonly ok: true; readonly posted: number }
  | {
      readonly ok: false;
      readonly posted: number;
      readonly detail: string;
      /** What the plugin threw, as it crosses (see the guest's crossingError); absent when it cannot. */
      readonly error?: unknown;
      /** Its name and code where cloning loses them, as `outcome.errorName` / `errorCode`. */
      readonly errorName?: string | undefined;
      readonly errorCode?: string | number | undefined;
    };

/** What the guest exposes on the control plane (over Comlink). */
export interface GuestControl {
  /** Loads the module and runs the plugin's `start`. */
  start(): Promise<ControlReply>;
  /**
   * Runs the plugin's `stop` once every delivery up to `lastDseq` has run (the data plane
   * and the control plane are separate channels, so the host says how far it delivered).
   */
  stop(lastDseq: number): Promise<ControlReply>;
}

/**
 * An embedded guest's control: {@link GuestControl}, and `end()`, which the host calls once
 * the plugin's stop has replied: the worker then ends its thread a macrotask later, after
 * what the stop left queued (an isolated guest ends when its pipe closes instead).
 */
export interface EmbeddedGuestControl extends GuestControl {
  end(): void;
}

/** What the host says of a frame it hands over by message, besides its bytes. */
interface FrameMessageFields {
  readonly dseq: number;
  readonly seq: number;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly timestamp: number;
}

/** Data-port messages from the host. */
export type HostToGuest =
  | { readonly t: 'message'; readonly dseq: number; readonly seq: number; readonly message: unknown }
  | (FrameMessageFields & { readonly t: 'frame'; readonly data: Uint8Array });

/**
 * Longest output channel name, in UTF-16 code units: `emit` refuses a longer one in every
 * mode, and the host refuses it from an isolated child.
 */
export const GUEST_CHANNEL_MAX_LENGTH = 256;
/**
 * Longest log line, in UTF-16 code units (64 Ki): a plugin's longer line is cut to it in
 * every mode, and the host refuses a longer one from an isolated child.
 */
export const GUEST_LOG_MAX_LENGTH = 64 * 1024;

/** The longest thrown Error `name` a guest may report (`outcome.errorName`), and `code` when a string. */
export const GUEST_ERROR_NAME_MAX_LENGTH = 256;

/** Data-port messages from the guest. */
export type GuestToHost =
  | { readonly t: 'output'; readonly channel: string; readonly value: unknown; readonly inputSeq: number | undefined }
  | { readonly t: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly t: 'outcome'; readonly seq: number; readonly ok: true; readonly value: unknown }
  | {
      readonly t: 'outcome';
      readonly seq: number;
      readonly ok: false;
      readonly error: unknown;
      /**
       * The thrown Error's `name` when it is not one structured cloning keeps (a cloned
       * `class MyError` arrives as `Error`); the host puts it back so the failure reads the
       * same in every mode. Undefined for built-in names and non-Error values.
       */
      readonly errorName: string | undefined;
      /**
       * The thrown Error's `code` (`'ENOENT'`, `'ERR_…'`, or a number), which structured
       * cloning drops; the host puts it back. Undefined when it has none of those kinds.
       */
      readonly errorCode: string | number | undefined;
    };

/**
 * Isolated mode: messages on the control pipe, in both directions, each one frame
 * `[u32 little-endian length][v8-serialized message]`. The data-plane messages above travel
 * in it too. Everything a child sends is untrusted: the host decodes it with a bounded
 * decoder, validates it against this union, and kills the child on any violation. Pipe
 * messages carry no generation: each generation has its own pipe, never reused.
 *
 * Largest frame the host accepts from a child.
 */
export const PIPE_MAX_GUEST_FRAME_BYTES = 1024 * 1024;
/**
 * Largest frame a child accepts from the host (trusted): room for a copied 4K frame.
 * The child's own messages are capped at {@link PIPE_MAX_GUEST_FRAME_BYTES}: decoding is
 * synchronous on the host's thread, and one 15 MiB payload of small objects measured over
 * a second — a child could stall the host with each frame. So in isolated mode one output,
 * log or result serializes to at most 1 MiB; larger ones fail in the plugin (RangeError).
 */
export const PIPE_MAX_HOST_FRAME_BYTES = 1024 * 1024 * 1024;
/**
 * Bytes of frames the host keeps on the pipe ahead of an isolated child (one frame goes
 * whatever its size); the rest wait in the instance's queue. The stop request follows them
 * on the same pipe: 64 1080p frames ahead of it (530 MB) took the child ~0.5 s to read, and
 * the stop of an idle plugin ran out of `timeouts.stop`. The child keeps as many bytes of
 * settled frames' buffers to read the next ones into.
 */
export const PIPE_FRAME_BYTES_AHEAD = 64 * 1024 * 1024;

/** Pipe messages only the isolated guest sends. */
export type GuestPipeMessage =
  /** First message of every child: its protocol version. */
  | { readonly t: 'hello'; readonly version: number }
  /** Wake the host, parked on the complete ring (Atomics.notify does not cross processes). */
  | { readonly t: 'doorbell' }
  /** Liveness, when no shared memory carries the heartbeat counter (copy transport). */
  /**
   * Copy transport only (no shared control words): alive, and the ArrayBuffer/Buffer memory
   * the child holds, in whole MiB (what `limits.maxArrayBufferMb` is checked against).
   */
  | { readonly t: 'heartbeat'; readonly externalMb: number; readonly heapMb: number }
  /** A Comlink message of the control plane. */
  | { readonly t: 'rpc'; readonly data: unknown }
  | GuestToHost;

/** Pipe messages only the host sends. */
export type HostPipeMessage =
  | { readonly t: 'launch'; readonly launch: IsolatedLaunch }
  | { readonly t: 'doorbell' }
  | { readonly t: 'rpc'; readonly data: unknown }
  | PipeFrameHeader
  | HostToGuest;

/**
 * A frame on the pipe: its metadata, then its `byteLength` bytes as the next pipe frame,
 * raw. The bytes are neither serialized nor copied on the host's side (a 4K frame through
 * `v8.serialize`, the length prefix and the write coalescing was copied three times, ~75 ms
 * of the host's event loop), and the guest takes them as they arrive, in one buffer.
 */
export interface PipeFrameHeader extends FrameMessageFields {
  readonly t: 'frame-bytes';
  readonly byteLength: number;
}

/**
 * The one pipe message that is hot: a doorbell, `{ t: 'doorbell' }` as v8 serializes it.
 * Both sides send these bytes prebuilt and recognise them by comparison, so a wake-up costs
 * no serializer or deserializer (the bytes on the wire are what `serialize` produces, so a
 * peer that builds them itself is understood too).
 */
export const PIPE_DOORBELL_PAYLOAD: Uint8Array = Uint8Array.from(serialize({ t: 'doorbell' }));

/** Whether a pipe payload is exactly {@link PIPE_DOORBELL_PAYLOAD}. */
export function isDoorbellPayload(payload: Uint8Array): boolean {
  const doorbell = PIPE_DOORBELL_PAYLOAD;
  if (payload.byteLength !== doorbell.byteLength) return false;
  for (let i = 0; i < doorbell.byteLength; i++) if (payload[i] !== doorbell[i]) return false;
  return true;
}

/**
 * Child fds of the isolated guest: the control pipe's two directions, the shared segments,
 * the start record. The guest writes on CHILD_FD_PIPE and reads CHILD_FD_INBOX: one socket
 * per direction, because a write that fails (EPIPE: the child died) destroys the Node socket
 * it was written on, and with one socket for both ways the bytes the child wrote before it
 * died, not yet read, went with it.
 */
export const CHILD_FD_PIPE = 3;
export const CHILD_FD_FRAMES = 4;
export const CHILD_FD_RINGS = 5;
export const CHILD_FD_START_RECORD = 6;
export const CHILD_FD_INBOX = 7;

/**
 * The start record of the copy transport: a two-byte file both processes hold open (unlinked
 * as soon as it is created), standing in for CONTROL_STARTED and CONTROL_FENCE where no
 * memory is shared. Byte {@link START_RECORD_STARTED} is the low byte of the `dseq` of the
 * last delivery the guest started, written before the plugin sees it; byte
 * {@link START_RECORD_FENCE} is non-zero once the host fenced the generation. The guest
 * writes, then reads the fence; the host writes the fence, then reads: a write to a file is
 * seen by every read that begins after it returned (POSIX), so, as with the atomics, a
 * delivery the host counts as never started is one the guest will never start. Single bytes,
 * because a read racing a write may see part of a longer value; the host knows the `dseq` to
 * within the deliveries in flight, fewer than 256 (see {@link decodeStartedByte}).
 */
export const START_RECORD_STARTED = 0;
export const START_RECORD_FENCE = 1;
export const START_RECORD_BYTES = 2;

/**
 * The `dseq` a start record's byte names, given `floor`: the guest had started every delivery
 * up to `floor` (their outcomes arrived), and no more than `floor + 255` were handed over.
 */
export function decodeStartedByte(byte: number, floor: number): number {
  return floor + ((byte - floor) & 0xff);
}

/**
 * What the isolated guest receives after its `hello`. Shared memory arrives as inherited
 * memfds (never a name in /dev/shm); absent segments mean the copy transport, where frames
 * travel inside pipe messages.
 */
export interface IsolatedLaunch {
  readonly version: number;
  readonly instanceId: string;
  readonly generation: number;
  readonly moduleUrl: string;
  readonly config: unknown;
  readonly heartbeatMs: number;
  readonly haltOnInputError: boolean;
  readonly poisonReleased: boolean;
  /** The frame slots (fd {@link CHILD_FD_FRAMES}), shared by the instance's generations. */
  readonly frames:
    | { readonly byteLength: number; readonly slots: number; readonly slotBytes: number; readonly slotStride: number; readonly slotsOffset: number }
    | undefined;
  /** This generation's rings and control block (fd {@link CHILD_FD_RINGS}). */
  readonly rings:
    | { readonly byteLength: number; readonly layout: import('../transport/segmentLayout.js').SegmentLayout; readonly controlOffset: number }
    | undefined;
  /**
   * Copy transport only: the start record is open on fd {@link CHILD_FD_START_RECORD}, so the
   * host may hand over many deliveries at once. Without it, one at a time.
   */
  readonly startRecord: boolean;
}

/**
 * What an input's failure is when the plugin threw a value that cannot cross (a symbol, a
 * function, an object holding one): an `Error` saying so, in every mode — out of thread the
 * value itself cannot reach the host.
 */
export function uncloneableFailure(seq: number, cloneError: unknown): Error {
  return new Error(`input ${seq} failed with a value that cannot be cloned: ${cloneError instanceof Error ? cloneError.message : String(cloneError)}`);
}
