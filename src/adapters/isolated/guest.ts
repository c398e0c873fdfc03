/**
 * The child-process entry of isolated mode (a build output of its own). It arms the
 * parent-death signal, opens the control pipe (it writes fd 3, reads fd 7), says hello, and
 * on `launch` maps the shared segments it inherited (fds 4 and 5), then serves Comlink over
 * the pipe and the data plane through the guest session. It exits when the host closes fd 7
 * (ending its process group first unless a stop was asked: see hostClosed).
 * It does not catch the plugin's uncaught errors: they end the process, which is how the host
 * learns of them.
 */
import { readSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { DefaultSerializer } from 'node:v8';
import * as Comlink from 'comlink';
import { BLOCKING_PARK_MS, GuestSession, externalMemoryMb, heapMb } from '../guest/GuestSession.js';
import {
  CHILD_FD_FRAMES,
  CHILD_FD_INBOX,
  CHILD_FD_PIPE,
  CHILD_FD_RINGS,
  CHILD_FD_START_RECORD,
  CONTROL_BYTES,
  PIPE_DOORBELL_PAYLOAD,
  PIPE_FRAME_BYTES_AHEAD,
  PIPE_MAX_GUEST_FRAME_BYTES,
  PIPE_MAX_HOST_FRAME_BYTES,
  PROTOCOL_VERSION,
  START_RECORD_FENCE,
  START_RECORD_STARTED,
  isDoorbellPayload,
} from '../protocol.js';
import type { GuestControl, GuestLaunch, GuestPipeMessage, HostPipeMessage, HostToGuest, IsolatedLaunch, PipeFrameHeader } from '../protocol.js';
import { FrameDecoder, encodeFrame } from '../../transport/FrameDecoder.js';
import { deserializeOwnBytes } from '../../transport/OwnBytesDeserializer.js';
import { computeSegmentLayout } from '../../transport/segmentLayout.js';
import { futexBlockingWait } from '../../transport/futexDoorbell.js';
import { loadShmBinding } from '../../transport/shmBinding.js';
import { RPC_ID_MAX_LENGTH } from './checkRpcReply.js';
import { decodeGuestMessage } from './decodeGuestMessage.js';
import { pipeEndpoint } from './pipeEndpoint.js';

const SIGKILL = 9;
/** A doorbell to the host, framed once. */
const DOORBELL_FRAME = encodeFrame(PIPE_DOORBELL_PAYLOAD, PIPE_MAX_GUEST_FRAME_BYTES);
/**
 * The host wakes from its pipe doorbell in ~20–25 µs (measured), one turn of its event loop
 * more than a thread: its next input is usually here within 80 µs.
 */
const SPIN_MICROS = 80;
const binding = loadShmBinding();
/** Absent from an addon built before futexWait existed: then the guest just never blocks. */
const futexWait = futexBlockingWait(binding);
// Die with the host, even if it is SIGKILLed (a busy child would otherwise be orphaned), and
// take this process group with it: the plugin's own children, reparented to init, would
// outlive the host too (the host's group kill comes from its exit handling, which a SIGKILLed
// host never runs). This process leads its group (spawned detached).
function armDeathSignal(shm: NonNullable<typeof binding>): boolean {
  try {
    if (shm.setGroupDeathSignal !== undefined) return shm.setGroupDeathSignal();
  } catch {
    // Not leading its own group (it always does when the runtime spawned it): this process alone.
  }
  return shm.setParentDeathSignal(SIGKILL);
}
if (binding !== undefined && !armDeathSignal(binding)) process.exit(70);

/**
 * The pipe is read into this one buffer, read after read (`onread`): a stream's fresh buffer
 * per read was garbage the size of every frame that crossed, counted as the plugin's
 * ArrayBuffer memory (`limits.maxArrayBufferMb`) until collected. Every payload is used up —
 * deserialized, or copied (frameWithBytes) — before the next read; the decoder copies out
 * what a read leaves unfinished.
 */
const readBuffer = new Uint8Array(1024 * 1024);
/**
 * What this side writes to the host (see CHILD_FD_INBOX: one socket per direction). Nothing is
 * written through this socket: opening it puts the descriptor in non-blocking mode, and
 * writeFully writes to it directly, so that a full pipe is EAGAIN, a wait this side bounds.
 */
const pipe = new Socket({ fd: CHILD_FD_PIPE, readable: false, writable: true });
/**
 * How long a write waits for the host to take from a full pipe before it tries again, in ms:
 * from PIPE_FULL_FIRST_WAIT_MS, doubling while the pipe stays full, to PIPE_FULL_WAIT_MS. A
 * host reading at full speed empties the pipe in tens of µs (900 KB outputs: 190 MiB/s with
 * 1 ms waits, ~450 through a socket's own wait); one held by a slow application keeps it full
 * for ms, and a wait of 1 ms then cost ~5 % of a core.
 */
const PIPE_FULL_FIRST_WAIT_MS = 0.02;
const PIPE_FULL_WAIT_MS = 4;
/** A word never notified: what a wait for room in the pipe sleeps on. */
const pipeFullWait = new Int32Array(new SharedArrayBuffer(4));
// Node 20 reads `onread` in the constructor too (its types list it for connect() only).
const inbox = new Socket({
  fd: CHILD_FD_INBOX,
  readable: true,
  writable: false,
  onread: {
    buffer: readBuffer,
    callback: (bytes: number) => {
      decoder.push(readBuffer.subarray(0, bytes));
      return true;
    },
  },
} as ConstructorParameters<typeof Socket>[0]);
let outbox: Uint8Array[] = [];
/** The start record's byte being written, and the fence byte read back (copy transport). */
const startRecordIo = new Uint8Array(2);

/**
 * Publishes the start of `dseq` in the start record, then reads the host's fence (see
 * START_RECORD_STARTED): two small syscalls per input, where the rest of the copy transport
 * costs tens of µs. A write or read that fails throws: the process ends before the plugin
 * sees the delivery, which the host then finds unstarted (a write that failed) or started.
 */
function publishStartInRecord(dseq: number): boolean {
  startRecordIo[0] = dseq & 0xff;
  writeSync(CHILD_FD_START_RECORD, startRecordIo, 0, 1, START_RECORD_STARTED);
  readSync(CHILD_FD_START_RECORD, startRecordIo, 1, 1, START_RECORD_FENCE);
  return startRecordIo[1] !== 0;
}

/**
 * v8.serialize, failing like structuredClone and postMessage do: a value that cannot be
 * cloned throws a DataCloneError (v8's own is a plain Error), and what a getter of the value
 * throws is thrown as it is — wrapped as a DataCloneError, the plugin saw another error's
 * name in this mode only.
 */
class CloneSerializer extends DefaultSerializer {
  // Called for a value V8 cannot clone (not in Node's typings) — and by Node's own
  // _writeHostObject with `new`: a function, not a method (a method is no constructor, and a
  // Blob then threw "is not a constructor"). One function for every serializer: one is made
  // per message.
  readonly _getDataCloneError = dataCloneError;
  // V8 asks for an id of a SharedArrayBuffer (sharing it, as a worker's port would), and
  // Node's default throws a plain Error: refused as every other value that cannot cross.
  readonly _getSharedArrayBufferId = refuseSharedMemory;
}

function refuseSharedMemory(): never {
  throw dataCloneError('#<SharedArrayBuffer> could not be cloned: shared memory cannot cross to the host process');
}

function dataCloneError(message: string): Error {
  return new DOMException(message, 'DataCloneError');
}

/** The longest id a Comlink reply may carry: a reply measured with it fits with the real one. */
const RPC_ID_PROBE = 'x'.repeat(RPC_ID_MAX_LENGTH);

function serialize(value: unknown): Buffer {
  const serializer = new CloneSerializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  return serializer.releaseBuffer();
}

/**
 * A guest message as bytes, failing as a clone does in any other mode (see CloneSerializer).
 * A message carrying a plugin's value is then put through the host's own gate: a value the
 * host would refuse (a boxed primitive, an own key `constructor`, nesting past 64, over
 * 100,000 nodes…) fails here, in the plugin's `emit` or as its input's failure, instead of
 * costing the generation (the host kills a child that sends what its gate refuses).
 */
function serializeMessage(message: GuestPipeMessage): Buffer {
  const bytes = serialize(message);
  // Only an object can break the gate's value rules (a primitive always passes): an outcome
  // without a value, the copy transport's every frame, costs no second decode.
  const value = message.t === 'output' ? message.value : message.t === 'outcome' ? (message.ok ? message.value : message.error) : undefined;
  if (typeof value === 'object' && value !== null) {
    const gate = decodeGuestMessage(bytes);
    if (!gate.ok) throw new DOMException(`the value cannot cross to the host process: ${gate.detail}`, 'DataCloneError');
  }
  return bytes;
}

function send(message: GuestPipeMessage): void {
  // Serialize now: a value that cannot be cloned fails in the caller, as postMessage would.
  outbox.push(encodeFrame(serializeMessage(message), PIPE_MAX_GUEST_FRAME_BYTES));
  if (outbox.length === 1) process.nextTick(flush);
}

/**
 * Writes what is queued now (see writeFully). The guest session flushes before it runs the
 * next input and before it sleeps, and outputs and logs leave at once, as in embedded mode:
 * what earlier inputs produced must reach the host even if the plugin then spins or dies —
 * batching to the next tick would hold it until the guest went idle.
 */
function flush(): void {
  if (outbox.length === 0) return;
  const frames = outbox;
  outbox = [];
  writeFully(frames.length === 1 ? (frames[0] ?? new Uint8Array()) : Buffer.concat(frames));
}

/**
 * Writes all of `bytes` to the host before it returns. A full pipe (the host reads at the
 * application's pace, and within its read rates) holds this thread, and the plugin's `emit`
 * or `ctx.log` with it, until the host has taken enough: the backpressure an embedded plugin
 * gets from its credit. A socket's write queued what the pipe could not take in this process
 * instead, without bound: 50,000 outputs of 4 KB taken slowly grew the plugin's ArrayBuffer
 * memory to 200 MiB, and `limits.maxArrayBufferMb` ended it `lost`/`oom` for what the
 * runtime held. The heartbeat goes on while it waits, as an embedded plugin's does while it
 * waits for credit: waiting on the host is not a hang (a plugin that never waits, whose event
 * loop never turns, still misses its heartbeats however much it writes).
 */
function writeFully(bytes: Uint8Array): void {
  let at = 0;
  let waitMs = PIPE_FULL_FIRST_WAIT_MS;
  let waited = false;
  while (at < bytes.byteLength) {
    try {
      at += writeSync(CHILD_FD_PIPE, bytes, at, bytes.byteLength - at);
      waitMs = PIPE_FULL_FIRST_WAIT_MS;
    } catch (error) {
      // Anything but a full pipe (EPIPE: the host closed it) means the host is gone.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') hostClosed();
      waited = true;
      session?.beat();
      Atomics.wait(pipeFullWait, 0, 0, waitMs);
      waitMs = Math.min(waitMs * 2, PIPE_FULL_WAIT_MS);
    }
  }
  // Without shared memory the heartbeat is a message: one that is due follows a write that
  // waited (the timer that sends them needs the event loop, which a waiting emit holds).
  if (waited && pipeHeartbeatMs > 0 && performance.now() - lastPipeHeartbeat >= pipeHeartbeatMs) {
    sendPipeHeartbeat();
    flush();
  }
}

/** Copy transport: how often a heartbeat message goes to the host, in ms (0: shared memory, whose counter the session bumps). */
let pipeHeartbeatMs = 0;
/** When the last heartbeat message was queued (performance.now). */
let lastPipeHeartbeat = 0;

/** Copy transport: a heartbeat message, with the memory figures the host checks its limits against. */
function sendPipeHeartbeat(): void {
  lastPipeHeartbeat = performance.now();
  send({ t: 'heartbeat', externalMb: session?.pluginMemoryMb() ?? externalMemoryMb(), heapMb: heapMb() });
}

/** The host asked for a stop: it closes the pipe next, alive, and ends this group at this process's exit. */
let stopAsked = false;

/**
 * The host closed the pipe: nothing left to serve. After a stop it lives on and ends this
 * process group once this process exits. Otherwise it may be gone: a dying host closes its
 * pipes before the kernel sends this process the parent-death signal that takes the group,
 * and an exit in between left the plugin's own children behind (4 in 46 SIGKILLed hosts on
 * the copy transport; without the addon there is no such signal at all). So the group goes
 * now, this process with it.
 */
function hostClosed(): never {
  if (!stopAsked) {
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      // Not a group leader (the runtime always spawns one): this process alone.
    }
  }
  process.exit(0);
}
inbox.on('end', hostClosed);
inbox.on('close', hostClosed);
inbox.on('error', hostClosed);
// Nothing is written through it (see writeFully); an error would still mean the host is gone.
pipe.on('error', hostClosed);

let session: GuestSession | undefined;
let dataListener: ((message: HostToGuest) => void) | undefined;
const rpc = pipeEndpoint((data) => {
  send({ t: 'rpc', data });
});

function launch(spec: IsolatedLaunch): void {
  if (spec.version !== PROTOCOL_VERSION) throw new Error(`protocol ${spec.version} is not ${PROTOCOL_VERSION}`);
  let frames: GuestLaunch['frames'];
  let rings: SharedArrayBuffer;
  let layout;
  let controlOffset: number;
  if (spec.frames !== undefined && spec.rings !== undefined) {
    if (binding === undefined) throw new Error('the host shares memory but this process cannot load the shared-memory addon');
    frames = { buffer: binding.mapSegment(CHILD_FD_FRAMES, spec.frames.byteLength), ...spec.frames };
    rings = binding.mapSegment(CHILD_FD_RINGS, spec.rings.byteLength);
    layout = spec.rings.layout;
    controlOffset = spec.rings.controlOffset;
  } else {
    // Copy transport: nothing is shared; local buffers keep the session's shape, and
    // liveness goes over the pipe.
    layout = computeSegmentLayout({ slots: 1, slotBytes: 64, ringCapacity: 2 });
    rings = new SharedArrayBuffer(layout.totalBytes + CONTROL_BYTES);
    controlOffset = layout.totalBytes;
    frames = { buffer: new SharedArrayBuffer(64), slots: 1, slotBytes: 64, slotStride: 64, slotsOffset: 0 };
    pipeHeartbeatMs = Math.max(10, Math.floor(spec.heartbeatMs / 5));
    setInterval(sendPipeHeartbeat, pipeHeartbeatMs).unref();
  }
  session = new GuestSession(
    {
      version: spec.version,
      instanceId: spec.instanceId,
      generation: spec.generation,
      moduleUrl: spec.moduleUrl,
      config: spec.config,
      frames,
      rings: { buffer: rings, capacity: layout.submit.capacity },
      control: { buffer: rings, byteOffset: controlOffset, heartbeatMs: spec.heartbeatMs },
      haltOnInputError: spec.haltOnInputError,
      poisonReleased: spec.poisonReleased,
    },
    layout,
    {
      post: (message) => {
        send(message);
        if (message.t !== 'outcome') flush();
      },
      flush,
      listen: (listener) => {
        dataListener = listener;
      },
      notifyHost: () => {
        // Now, not at the next tick: the session may be about to sleep in a futex wait.
        outbox.push(DOORBELL_FRAME);
        flush();
      },
      doorbellByMessage: true,
      // A control reply is not put through the host's gate as it is sent (see serializeMessage):
      // one carrying what the plugin threw is sent only if it passes that gate and the size bound.
      crosses: (reply) => {
        try {
          // As Comlink sends it (an id of its length), gated and bounded as the real one is.
          const bytes = serialize({ t: 'rpc', data: { id: RPC_ID_PROBE, type: 'RAW', value: reply } });
          return bytes.byteLength <= PIPE_MAX_GUEST_FRAME_BYTES && decodeGuestMessage(bytes).ok;
        } catch {
          return false;
        }
      },
      recycleFrameData,
      channelBytes: recycledBytes,
      ...(spec.startRecord && spec.frames === undefined ? { startFence: publishStartInRecord } : {}),
      // With shared memory the host can wake a futex wait on the ring's park word directly.
      ...(futexWait !== undefined && spec.frames !== undefined
        ? {
            blockingParkMs: BLOCKING_PARK_MS,
            spinMicros: SPIN_MICROS,
            blockingWait: futexWait,
          }
        : {}),
    },
  );
  const control = session.control();
  Comlink.expose(
    {
      start: () => control.start(),
      stop: (lastDseq: number) => {
        stopAsked = true;
        return control.stop(lastDseq);
      },
    } satisfies GuestControl,
    rpc.endpoint,
  );
}

/**
 * Buffers of frames that came by the pipe and have settled, for the next frames of their size
 * (see GuestChannel.recycleFrameData): a frame's bytes are then read into memory this process
 * already has, instead of new memory while the last frames wait to be garbage-collected —
 * which counted against `limits.maxArrayBufferMb` (a plugin keeping nothing was `lost/oom`).
 */
const recycled: Uint8Array[] = [];
/** Bytes kept in `recycled` (one buffer at least): what the host keeps on the pipe ahead of this side. */
const RECYCLED_MAX_BYTES = PIPE_FRAME_BYTES_AHEAD;
/** Smaller frames arrive inside one read, and are copied out of it: nothing to recycle. */
const RECYCLE_MIN_BYTES = 64 * 1024;

function recycleFrameData(data: Uint8Array): void {
  if (data.byteLength < RECYCLE_MIN_BYTES || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) return;
  recycled.push(data);
  while (recycled.length > 1 && recycledBytes() > RECYCLED_MAX_BYTES) recycled.shift();
}

/** Buffers the decoder assembled frames in (see allocateFrame): a frame's own memory. */
const assembled = new WeakSet<Uint8Array>();

function allocateFrame(length: number): Uint8Array {
  const at = recycled.findIndex((buffer) => buffer.byteLength === length);
  const buffer = at === -1 ? new Uint8Array(length) : (recycled.splice(at, 1)[0] ?? new Uint8Array(length));
  assembled.add(buffer);
  return buffer;
}

/** Bytes of the recycled buffers: the runtime's, not the plugin's. */
function recycledBytes(): number {
  let bytes = 0;
  for (const buffer of recycled) bytes += buffer.byteLength;
  return bytes;
}

/** A frame whose header came, its bytes being the next pipe frame (see PipeFrameHeader). */
let frameHeader: PipeFrameHeader | undefined;

/** The frame `header` announced, with its bytes: a buffer of its own, shared with nothing. */
function frameWithBytes(header: PipeFrameHeader, payload: Uint8Array): HostToGuest {
  if (payload.byteLength !== header.byteLength) throw new Error(`frame ${header.seq}: ${payload.byteLength} bytes, announced ${header.byteLength}`);
  // A frame that arrived inside one read is a view of the read buffer, which the next read
  // overwrites: copied. One assembled across reads is in a buffer of its own (allocateFrame).
  const data = assembled.has(payload) ? payload : payload.slice();
  const { dseq, seq, width, height, format, timestamp } = header;
  return { t: 'frame', dseq, seq, width, height, format, timestamp, data };
}

const decoder = new FrameDecoder({
  maxFrameBytes: PIPE_MAX_HOST_FRAME_BYTES,
  allocate: allocateFrame,
  onFrame: (payload) => {
    if (frameHeader !== undefined) {
      const header = frameHeader;
      frameHeader = undefined;
      dataListener?.(frameWithBytes(header, payload));
      return;
    }
    if (isDoorbellPayload(payload)) {
      session?.wake();
      return;
    }
    // Into values of their own: payload is a view of the one buffer every read reuses.
    const message = deserializeOwnBytes(payload) as HostPipeMessage;
    switch (message.t) {
      case 'launch':
        launch(message.launch);
        return;
      case 'doorbell':
        session?.wake();
        return;
      case 'rpc':
        rpc.dispatch(message.data);
        return;
      case 'frame-bytes':
        frameHeader = message;
        return;
      default:
        dataListener?.(message);
    }
  },
  // A frame the host sent was malformed, or handling it threw (e.g. a segment could not be
  // mapped at launch): say why on stderr, whose tail the host attaches to the failure, and end.
  onViolation: (violation) => {
    const cause = violation.cause instanceof Error ? `${violation.cause.name}: ${violation.cause.message}` : violation.detail;
    writeSync(2, `plugin-seam isolated guest: ${cause}\n`);
    process.exit(70);
  },
});

send({ t: 'hello', version: PROTOCOL_VERSION });
