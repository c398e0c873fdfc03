import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serialize } from 'node:v8';
import * as Comlink from 'comlink';
import { messageOf } from '../../errors.js';
import type { Fault } from '../../machines/lifecycleTypes.js';
import { FRAME_PREFIX_BYTES, FrameDecoder, encodeFrame } from '../../transport/FrameDecoder.js';
import type { FramePool } from '../../transport/FramePool.js';
import { HeapFramePool } from '../../transport/HeapFramePool.js';
import { SharedFramePool } from '../../transport/SharedFramePool.js';
import { findPackageRoot } from '../../transport/findPackageRoot.js';
import { futexNotify } from '../../transport/futexDoorbell.js';
import { TurnBudget } from '../TurnBudget.js';
import { discardSegment, memfdPoolSegment } from '../../transport/PoolSegment.js';
import { computeSegmentLayout } from '../../transport/segmentLayout.js';
import { loadShmBinding } from '../../transport/shmBinding.js';
import type { ShmBinding } from '../../transport/shmBinding.js';
import type { Adapter, Delivery, DeliverySettle, GenerationSession, LaunchRequest, TransportKind } from '../Adapter.js';
import { EXIT_DEADLINE_MS, GenerationFault, exitsInTime } from '../Adapter.js';
import { HostDataPlane } from '../HostDataPlane.js';
import type { FenceResult } from '../HostDataPlane.js';
import { CHILD_FD_INBOX, CHILD_FD_PIPE, CONTROL_BYTES, PIPE_DOORBELL_PAYLOAD, PIPE_FRAME_BYTES_AHEAD, PIPE_MAX_GUEST_FRAME_BYTES, PIPE_MAX_HOST_FRAME_BYTES, PROTOCOL_VERSION, isDoorbellPayload } from '../protocol.js';
import type { GuestControl, GuestPipeMessage, HostPipeMessage, HostToGuest, IsolatedLaunch, PipeFrameHeader } from '../protocol.js';
import { LogTail } from './LogTail.js';
import { ReadThrottle } from './ReadThrottle.js';
import { checkRpcReply } from './checkRpcReply.js';
import { holdInspectorSignalGuard } from './inspectorSignalGuard.js';
import { classifyExit, quoteTails } from './classifyExit.js';
import { decodeGuestMessage } from './decodeGuestMessage.js';
import { StartRecordFile } from './StartRecordFile.js';
import { pipeEndpoint } from './pipeEndpoint.js';


/**
 * Ring segments are made whole pages (the largest page size Linux uses, 64 KiB; pages never
 * touched cost nothing): a segment's pages are given back when its generation ends, and a
 * partial last page — the control words, written to the end — would stay resident.
 */
const RING_SEGMENT_ALIGN = 64 * 1024;
/** Deliveries in flight per generation over shared memory (and each ring's capacity). */
const RING_CAPACITY = 64;
/** A doorbell to the guest, framed once. */
const DOORBELL_FRAME = encodeFrame(PIPE_DOORBELL_PAYLOAD, PIPE_MAX_HOST_FRAME_BYTES);
/**
 * Writes of one tick up to this many bytes in all are concatenated into one buffer (small
 * messages: one copy is cheaper than a vector of them); more go out as they are, corked.
 */
const COALESCE_MAX_BYTES = 64 * 1024;
/**
 * Messages read from the pipe and not yet applied (HostDataPlane.receive applies them within
 * a share of each turn) at which the pipe stops being read, and below which it is read again:
 * a child sending faster than the application takes its outputs then waits on its pipe.
 */
const BACKLOG_PAUSE = 4096;
const BACKLOG_RESUME = 1024;
/** From SIGTERM to SIGKILL when a child does not end by itself. */
const KILL_GRACE_MS = 500;
/** From SIGKILL until the generation is reported as lingering. */
const REAP_DEADLINE_MS = 3_000;
/**
 * After the process exited, how long its death waits for the pipe to end (the kernel closed
 * the child's end before it reported the exit; a descendant holding it is killed with the
 * group): what the child wrote before it died — outcomes, outputs — is read first, not lost.
 */
const PIPE_DRAIN_MS = 50;
/**
 * After the control pipe ended while the child had not been reaped, how long its exit may
 * take to be reported: a child that exits closes the pipe first, and its exit comes a moment
 * later. Still alive after this, it closed the pipe itself (RELIABILITY: `channel_closed`):
 * nothing it does can reach the host any more, and calls pending on it would never settle.
 */
const CHANNEL_CLOSED_GRACE_MS = 250;
/**
 * How often the host checks that the copy transport's start record still has its two bytes
 * (StartRecordFile.intact): the child can write to it whatever its permission flags, so this
 * bounds how long it may grow it before it is killed (`lost`/`protocol`).
 */
const RECORD_CHECK_MS = 100;
/**
 * How fast a child's pipe is read, at most: messages per second (and burst), bytes per second
 * (and burst). Over them the reader waits (ReadThrottle); kept over them for
 * `isolation.floodMs` (default DEFAULT_FLOOD_MS), the child is a flood.
 */
const MESSAGE_RATE = { perSecond: 200_000, burst: 400_000 };
const BYTE_RATE = { perSecond: 512 * 1024 * 1024, burst: 128 * 1024 * 1024 };
/**
 * The share of the host's time decoding one child's messages may take, and its burst in ms:
 * the rest is the application's and the other instances', however costly what it sends.
 */
const DECODE_BUDGET = { share: 0.25, burstMs: 500 };
/**
 * Frames decoded from one child in one turn of the event loop before its pipe reader yields.
 * libuv hands a readable pipe up to 32 × 64 KiB per turn; a flood of tiny messages under
 * MESSAGE_RATE (which is about what the host can decode) would otherwise hold the host's
 * loop for ~1 s per turn. 4096 tiny frames cost a few milliseconds.
 */
const FRAMES_PER_TURN = 4096;
/**
 * Time the pipe reader may hold the event loop in one turn, in ms (checked between chunks).
 * Frames are not equally cheap: a doorbell costs the host a few µs, an output several times
 * that (decode, validation, delivery to the application), and a flood of small outputs held
 * a loaded host's loop for 0.5–0.7 s at a time under the frame count alone (RELIABILITY C2,
 * the isolated-flow test). Whichever bound comes first ends the turn.
 */
const TURN_BUDGET_MS = 10;

/**
 * `isolated` mode: the plugin runs in its own Node child process, one per generation; the
 * host survives anything that process does.
 *
 * - Control: not Node's `fork()` IPC (garbage on it throws inside the host), but a dedicated
 *   pipe per generation with length-prefixed frames, a hard frame-size limit, a decoder
 *   that cannot throw, an allow-list validator, and rate limits; any violation kills the
 *   child (`lost`/`protocol`). Comlink runs over it for `start`/`stop`; every call races the
 *   child's death.
 * - Frames: sealed memfd segments from the native addon, mapped as SharedArrayBuffers on
 *   both sides; descriptors on rings validated field by field (small message values and
 *   results ride in the ring entries, copied out before they are decoded); a doorbell
 *   message on the pipe wakes a parked peer. Without the addon, frames and messages are
 *   copied over the pipe and `status.transport` says `copy`.
 * - Life: an explicit environment, drained stdout/stderr (the tail goes into failures),
 *   parent-death signal plus exit on pipe close, its own process group so teardown
 *   (SIGTERM, then SIGKILL) reaches descendants, and no signal to a pid once reaped.
 */
export class IsolatedAdapter implements Adapter {
  readonly mode = 'isolated' as const;
  readonly heartbeatMs: number;
  readonly #binding: ShmBinding | undefined;
  readonly #guestPath = fileURLToPath(new URL('./guest.js', import.meta.url));

  constructor(options: { readonly heartbeatMs?: number; readonly binding?: ShmBinding | null } = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.#binding = options.binding === null ? undefined : (options.binding ?? loadShmBinding());
  }

  launch(request: LaunchRequest): GenerationSession {
    return new IsolatedSession(request, this.#guestPath, this.#binding);
  }

  createFramePool(options: { readonly slots: number; readonly slotBytes: number; readonly poisonReleased: boolean }): FramePool {
    const binding = this.#binding;
    if (binding === undefined) return new HeapFramePool({ capacity: options.slots, poisonReleased: options.poisonReleased });
    return new SharedFramePool(options, (byteLength) => memfdPoolSegment(binding, byteLength));
  }

  transportOf(pool: FramePool): TransportKind {
    return sharedSegmentOf(pool, this.#binding) === undefined ? 'copy' : 'shared-memory';
  }
}

class IsolatedSession implements GenerationSession {
  readonly transport: 'shared-memory' | 'copy';
  readonly maxInFlight: number;
  readonly #request: LaunchRequest;
  readonly #plane: HostDataPlane;
  readonly #child: ChildProcess;
  /** What the child writes (its fd 3); read here. */
  readonly #pipe: Socket | undefined;
  /** What this side writes to the child (its fd 7, CHILD_FD_INBOX): one socket per direction. */
  readonly #inbox: Socket | undefined;
  readonly #stderr = new LogTail();
  readonly #stdout = new LogTail();
  readonly #guest: Comlink.Remote<GuestControl>;
  readonly #rpc: ReturnType<typeof pipeEndpoint>;
  readonly #died: Promise<never>;
  readonly #launch: IsolatedLaunch;
  /** Copy transport: the start record, closed at dispose (after the fence read it). */
  readonly #startRecord: StartRecordFile | undefined;
  readonly #binding: ShmBinding | undefined;
  /** The rings' shared segment (shared-memory transport), given back once the process is gone. */
  #rings: SharedArrayBuffer | undefined;
  readonly #throttle: ReadThrottle;
  /** The pipe reader waits for the throttle (see #paceReader). */
  #throttled: ReturnType<typeof setTimeout> | undefined;
  readonly #heartbeatTimer: ReturnType<typeof setInterval>;
  /** Copy transport: checks the start record's size (see RECORD_CHECK_MS). */
  #recordTimer: ReturnType<typeof setInterval> | undefined;
  #reportDeath: (fault: Fault) => void = () => undefined;
  readonly #launched: Promise<void>;
  #markLaunched: () => void = () => undefined;
  #hello = false;
  /** The death was handled (after the pipe ended): see #onExit. */
  #exited = false;
  /** Reported lingering (it outlived SIGKILL's deadline): its end, when it comes, is reported too. */
  #lingered = false;
  /** Node reaped the process (or it never started): its pid may be another's now, never signal it. */
  #reaped = false;
  readonly #exit: Promise<void>;
  #markExited: () => void = () => undefined;
  /** The plugin's stop() returned: the process is expected to exit, and nothing it sends counts. */
  #stopped = false;
  /** The control pipe ended or closed (see #pipeEndedEarly). */
  #pipeEndSeen = false;
  /** A rule broken on the pipe after the child was reaped: nothing more of it is applied. */
  #pipeIgnored = false;
  /** How the process ended, once it has. */
  #exitStatus: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  #disposed = false;
  /** Set when the host killed the child for cause (protocol violation): its exit reports this. */
  #verdict: Fault | undefined;
  #outbox: { readonly bytes: Uint8Array; readonly written: (() => void) | undefined }[] = [];
  /** Bytes in #outbox. */
  #outboxBytes = 0;
  /** Ids of the Comlink calls sent to the child and not answered yet. */
  readonly #rpcCalls = new Set<string>();
  /** Frames decoded in the pipe reader's current turn. */
  #framesSinceYield = 0;
  /** The pipe reader's share of the event loop's turn. */
  readonly #turn = new TurnBudget();
  #yielding = false;
  /** The pipe waits for the host to apply what it read (see BACKLOG_PAUSE). */
  #backlogged = false;

  constructor(request: LaunchRequest, guestPath: string, binding: ShmBinding | undefined) {
    this.#request = request;
    this.#binding = binding;
    this.#throttle = new ReadThrottle({
      messagesPerSecond: MESSAGE_RATE.perSecond,
      messageBurst: MESSAGE_RATE.burst,
      bytesPerSecond: BYTE_RATE.perSecond,
      byteBurst: BYTE_RATE.burst,
      decodeShare: DECODE_BUDGET.share,
      decodeBurstMs: DECODE_BUDGET.burstMs,
      floodMs: request.isolation.floodMs,
    });
    const pool = sharedSegmentOf(request.pool, binding);
    const shared = pool !== undefined;
    this.transport = shared ? 'shared-memory' : 'copy';
    // Without shared memory the start record stands in for the fence words; without that
    // either, hand over one input at a time, so a dying generation never holds inputs it did
    // not start (as inline).
    const startRecord = shared ? undefined : StartRecordFile.create();
    this.#startRecord = startRecord;
    this.maxInFlight = shared || startRecord !== undefined ? RING_CAPACITY : 1;
    let ringsFd: number | undefined;
    let rings: { buffer: SharedArrayBuffer; layout: ReturnType<typeof computeSegmentLayout> } | undefined;
    let control: Int32Array | undefined;
    if (shared && binding !== undefined) {
      const layout = computeSegmentLayout({ slots: 1, slotBytes: 64, ringCapacity: RING_CAPACITY });
      let segment: ReturnType<ShmBinding['createSegment']>;
      try {
        segment = binding.createSegment(Math.ceil((layout.totalBytes + CONTROL_BYTES) / RING_SEGMENT_ALIGN) * RING_SEGMENT_ALIGN);
      } catch (error) {
        // Out of descriptors (EMFILE, ENFILE) or memory: this generation cannot be launched.
        throw new GenerationFault({ cause: 'spawn', detail: `cannot create the shared-memory segment: ${messageOf(error)}` });
      }
      ringsFd = segment.fd;
      rings = { buffer: segment.buffer, layout };
      this.#rings = segment.buffer;
      control = new Int32Array(segment.buffer, layout.totalBytes, CONTROL_BYTES / 4);
    }
    this.#plane = new HostDataPlane({
      generation: request.generation,
      pool,
      rings,
      control,
      startRecord,
      post: (message) => {
        if (message.t === 'frame') this.#sendFrameBytes(message);
        else this.#send(message);
      },
      // A guest in a blocking wait sleeps on a futex of the shared segment: wake it there, in
      // microseconds; one parked on its event loop hears the doorbell on the pipe (so does a
      // blocking one if the wake failed, once its wait times out).
      notifyGuest: futexNotify(binding, () => {
        this.#sendFrame(DOORBELL_FRAME);
      }),
      doorbellByMessage: true,
      repliesInOrder: true,
      // On one core, the child answers before the host parks: no doorbell on the pipe.
      yieldCore: binding?.schedYield,
      sink: request.sink,
      inputBudgetMs: request.inputBudgetMs,
      maxArrayBufferMb: request.limits.maxArrayBufferMb,
      maxHeapMb: request.limits.maxHeapMb,
      onOverLimit: (detail) => {
        this.#kill({ cause: 'oom', detail });
      },
      onApplied: (_received, backlog) => {
        if (!this.#backlogged || backlog > BACKLOG_RESUME) return;
        this.#backlogged = false;
        const pipe = this.#pipe;
        if (pipe !== undefined && !pipe.destroyed && !this.#yielding && this.#throttled === undefined) pipe.resume();
      },
      onViolation: (detail) => {
        this.#violation(`ring: ${detail}`);
      },
    });
    this.#launch = {
      version: PROTOCOL_VERSION,
      instanceId: request.instanceId,
      generation: request.generation,
      moduleUrl: 'url' in request.module ? request.module.url : '',
      config: request.config,
      heartbeatMs: request.heartbeatMs,
      haltOnInputError: request.haltOnInputError,
      poisonReleased: request.poisonReleased,
      frames: shared ? { byteLength: pool.buffer.byteLength, ...pool.layout } : undefined,
      rings: rings === undefined ? undefined : { byteLength: rings.buffer.byteLength, layout: rings.layout, controlOffset: rings.layout.totalBytes },
      startRecord: startRecord !== undefined,
    };
    this.#died = new Promise<never>((_resolve, reject) => {
      this.#reportDeath = (fault) => {
        reject(new GenerationFault(fault));
      };
    });
    this.#died.catch(() => undefined);
    this.#launched = new Promise<void>((resolve) => {
      this.#markLaunched = resolve;
    });
    this.#exit = new Promise<void>((resolve) => {
      this.#markExited = resolve;
    });
    this.#rpc = pipeEndpoint((data) => {
      const id = typeof data === 'object' && data !== null ? (data as { readonly id?: unknown }).id : undefined;
      if (typeof id === 'string') this.#rpcCalls.add(id);
      this.#send({ t: 'rpc', data });
    });
    this.#guest = Comlink.wrap<GuestControl>(this.#rpc.endpoint);

    const isolation = request.isolation;
    const args: string[] = [];
    if (request.limits.maxHeapMb !== undefined) args.push(`--max-old-space-size=${request.limits.maxHeapMb}`);
    if (isolation.permission !== undefined) args.push(...permissionFlags(isolation.permission, request.module));
    args.push(guestPath);
    this.#child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', shared ? pool.fd : 'ignore', ringsFd ?? 'ignore', startRecord?.fd ?? 'ignore', 'pipe'],
      env: { ...isolation.env },
      // Its own process group: teardown signals reach the plugin's descendants too.
      detached: true,
      windowsHide: true,
    });
    if (ringsFd !== undefined && binding !== undefined) binding.closeFd(ringsFd);
    // Held from the spawn (the process may signal the host at once) until it has exited; a
    // spawn that failed (no pid) has no process to guard against.
    const releaseGuard = holdInspectorSignalGuard();
    if (this.#child.pid === undefined) releaseGuard();
    else this.#child.once('exit', releaseGuard);
    this.#child.on('error', (error: Error) => {
      // Spawn failures (ENOENT, EAGAIN, EMFILE…) arrive here, never as a throw.
      this.#onExit(null, null, { cause: 'spawn', detail: messageOf(error) });
    });
    this.#child.on('exit', (code, signal) => {
      this.#killGroup();
      this.#reaped = true;
      this.#afterPipeEnded(() => {
        this.#onExit(code, signal, undefined);
      });
    });
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout.push(chunk);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr.push(chunk);
    });
    // A spawn that failed early (EMFILE, ENFILE) leaves no stdio at all: the 'error' event
    // above reports it as a startup failure, cause spawn.
    // Node's type lists five stdio entries; a spawn has as many as it was given.
    const stdio = this.#child.stdio as readonly (Readable | Writable | null | undefined)[] | undefined;
    this.#pipe = stdio?.[CHILD_FD_PIPE] as Socket | undefined;
    this.#inbox = stdio?.[CHILD_FD_INBOX] as Socket | undefined;
    // A write into a dead child fails (EPIPE) and destroys the socket written on: this one
    // only, so what the child wrote before it died is still read from the other.
    this.#inbox?.on('error', () => undefined);
    const decoder = new FrameDecoder({
      maxFrameBytes: PIPE_MAX_GUEST_FRAME_BYTES,
      onFrame: (payload) => {
        this.#onFrame(payload);
      },
      onViolation: (violation) => {
        this.#violation(`framing: ${violation.detail}`);
      },
    });
    // Either direction closed by a child that lives on (see #pipeEndedEarly).
    const pipeEnded = (): void => {
      this.#pipeEndedEarly();
    };
    this.#pipe?.once('end', pipeEnded);
    this.#pipe?.once('close', pipeEnded);
    this.#inbox?.once('end', pipeEnded);
    this.#inbox?.once('close', pipeEnded);
    // The child only reads its inbox: read here to see it close, and anything written on it
    // breaks the protocol.
    this.#inbox?.on('data', () => {
      this.#violation('the child wrote on its inbox (fd 7)');
    });
    this.#pipe?.on('data', (chunk: Buffer) => {
      if (this.#disposed || this.#verdict !== undefined || this.#pipeIgnored) return;
      this.#throttle.read(chunk.byteLength);
      this.#beginTurn();
      decoder.push(chunk);
      this.#paceReader();
    });
    // Writes racing the child's death fail with EPIPE: expected, counted as nothing.
    this.#pipe?.on('error', () => undefined);
    this.#heartbeatTimer = setInterval(() => {
      // Without shared memory the child's heartbeats travel on the pipe behind what it wrote
      // before them, and cannot arrive while this side holds the pipe (a backlog the
      // application is still taking, the read rates): a 200 ms deadline lost a live plugin
      // whose outputs took the application a second. What waits there says the child was
      // writing; once the pipe is read again, its own heartbeats decide.
      if (!shared && (this.#backlogged || this.#throttled !== undefined)) this.#request.sink.heartbeat(this.#plane.heapShare);
      else this.#plane.sampleHeartbeat();
    }, Math.max(10, Math.floor(request.heartbeatMs / 5)));
    if (startRecord !== undefined) {
      // The space a child takes by growing its record is freed with its descriptor, when the
      // process ends: kill it within RECORD_CHECK_MS of the write.
      this.#recordTimer = setInterval(() => {
        if (!startRecord.intact()) this.#violation('the start record was resized');
      }, RECORD_CHECK_MS);
      this.#recordTimer.unref();
    }
    this.#heartbeatTimer.unref();
  }

  async start(): Promise<void> {
    // The child must have said hello and received its launch before any control call:
    // the pipe keeps order, so the launch then arrives first.
    await Promise.race([this.#launched, this.#died]);
    await this.#plane.control(() => this.#guest.start(), this.#died);
  }

  deliver(input: Delivery, settle: DeliverySettle): void {
    this.#plane.deliver(input, settle);
  }

  async stop(): Promise<void> {
    await this.#plane.control(() => this.#guest.stop(this.#plane.lastDseq), this.#died);
    await this.#exitAfterStop();
  }

  /**
   * A generation is stopped once its process has exited, not merely once the plugin's
   * `stop()` returned (RELIABILITY F5): close the pipe (the guest exits when it ends), keep
   * draining stdout and stderr, and give the process EXIT_DEADLINE_MS. One whose exit is
   * blocked — e.g. an exit path that never stops writing output — is then killed, and the
   * stop fails (`teardown`, cause `timeout`) with the tail of what it wrote, since that tail
   * is the only clue to why it did not end.
   */
  async #exitAfterStop(): Promise<void> {
    this.#stopped = true;
    this.#inbox?.end();
    if (this.#exited) {
      this.#checkCleanExit();
      return;
    }
    if (await exitsInTime(this.#exit)) {
      this.#checkCleanExit();
      return;
    }
    this.#signal('SIGKILL');
    const quoted = quoteTails(this.#stderr.text(), this.#stdout.text());
    throw new GenerationFault({
      cause: 'timeout',
      detail: `exit blocked: the plugin process had not exited ${EXIT_DEADLINE_MS} ms after its stop() returned, killed with SIGKILL${quoted}`,
    });
  }

  /**
   * After a stop the guest ends with code 0 once its pipe closes. Any other end — a native
   * addon crashing at teardown, an exit handler that throws — is a teardown failure, not a
   * clean stop, even though the plugin's stop() had returned.
   */
  #checkCleanExit(): void {
    const status = this.#exitStatus;
    if (status === undefined || (status.code === 0 && status.signal === null)) return;
    const fault = classifyExit(status.code, status.signal, this.#stderr.text(), this.#stdout.text());
    throw new GenerationFault({ ...fault, detail: `after its stop() returned, the plugin process ${fault.detail ?? 'ended abnormally'}` });
  }

  fence(): FenceResult {
    return this.#plane.fence();
  }

  revokeUnstarted(): readonly number[] {
    return this.#plane.revokeUnstarted();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#startRecord?.close();
    clearInterval(this.#heartbeatTimer);
    clearInterval(this.#recordTimer);
    clearTimeout(this.#throttled);
    this.#plane.close();
    this.#guest[Comlink.releaseProxy]();
    this.#inbox?.end();
    // Read (and drop: disposed) what it still writes: a child whose write waits for room in a
    // paused pipe would never see its inbox end, and one that handles SIGTERM would then
    // wait for the SIGKILL below.
    if (this.#pipe !== undefined && !this.#pipe.destroyed) this.#pipe.resume();
    if (this.#reaped) {
      this.#release();
      return;
    }
    this.#child.once('exit', () => {
      this.#release();
    });
    this.#signal('SIGTERM');
    // A stopped process (it may have stopped itself) keeps a SIGTERM pending and runs no
    // handler — the parent-death signal's included — until continued: an application that
    // exits right after shutdown() left it stopped for good, the SIGKILL below never sent.
    this.#signal('SIGCONT');
    const kill = setTimeout(() => {
      this.#signal('SIGKILL');
    }, KILL_GRACE_MS);
    const lingering = setTimeout(() => {
      if (!this.#exited) {
        this.#lingered = true;
        this.#request.sink.lingering({
          cause: 'terminate_hung',
          detail: `the plugin process did not end within ${KILL_GRACE_MS + REAP_DEADLINE_MS} ms of SIGTERM/SIGKILL`,
        });
      }
    }, KILL_GRACE_MS + REAP_DEADLINE_MS);
    kill.unref();
    lingering.unref();
    this.#child.once('exit', () => {
      clearTimeout(kill);
      clearTimeout(lingering);
    });
  }

  /**
   * What the generation held, once it is over and its process gone: its rings' pages (a
   * long-lived host restarting a plugin kept them resident, ~12 KB written, and mapped per
   * generation until a major collection, which a host making little garbage rarely runs), and
   * what is left of its stdio and pipe — a descendant that inherited them (a daemon started
   * with `stdio: 'inherit'`) would otherwise keep them open for good: the host's process could
   * never exit, and a descendant writing without end kept a host core busy after shutdown.
   */
  #release(): void {
    const rings = this.#rings;
    // Once the host's loop has stopped reading them (the child is gone already).
    if (rings !== undefined) void this.#plane.idle.then(() => {
      discardSegment(this.#binding, rings);
    });
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    this.#pipe?.destroy();
    this.#inbox?.destroy();
  }

  #send(message: HostPipeMessage): void {
    this.#sendFrame(encodeFrame(serialize(message), PIPE_MAX_HOST_FRAME_BYTES));
    // A guest asleep in a futex wait reads no pipe: wake it for the message (one parked on
    // its event loop is woken by the message itself).
    this.#plane.ringGuestForMessage();
  }

  /** Room for another input while under PIPE_FRAME_BYTES_AHEAD of frames are on their way by the pipe (frames in shared slots take none). */
  hasRoom(): boolean {
    return this.#plane.copiedBytes < PIPE_FRAME_BYTES_AHEAD;
  }

  /**
   * A frame by the pipe: its header, then its bytes as a raw pipe frame — written from the
   * runtime's copy as it is (see PipeFrameHeader). That copy stays untouched until the input
   * settles, which the guest can do only once it has read every byte.
   */
  #sendFrameBytes(message: Extract<HostToGuest, { t: 'frame' }>): void {
    const { data, ...meta } = message;
    if (data.byteLength === 0 || data.byteLength > PIPE_MAX_HOST_FRAME_BYTES) {
      throw new RangeError(`a frame of ${data.byteLength} bytes cannot cross the pipe (at most ${PIPE_MAX_HOST_FRAME_BYTES})`);
    }
    const header = encodeFrame(serialize({ ...meta, t: 'frame-bytes', byteLength: data.byteLength } satisfies PipeFrameHeader), PIPE_MAX_HOST_FRAME_BYTES);
    const prefix = new Uint8Array(FRAME_PREFIX_BYTES);
    new DataView(prefix.buffer).setUint32(0, data.byteLength, true);
    this.#sendFrame(header);
    this.#sendFrame(prefix);
    // A pooled buffer stays the pool's until written: the child may settle the frame first.
    const pool = this.#request.pool;
    if (pool instanceof HeapFramePool && pool.holds(data)) {
      pool.pin(data);
      this.#sendFrame(data, () => {
        pool.unpin(data);
      });
    } else {
      this.#sendFrame(data);
    }
    this.#plane.ringGuestForMessage();
  }

  /** Queues bytes for the child's inbox; `written` is called once they are written, or will never be. */
  #sendFrame(frame: Uint8Array, written?: () => void): void {
    const pipe = this.#inbox;
    if (pipe === undefined || pipe.destroyed || !pipe.writable || this.#reaped) {
      written?.();
      return;
    }
    // Coalesce the writes of one tick into one syscall: under load one wake-up carries many inputs.
    this.#outbox.push({ bytes: frame, written });
    this.#outboxBytes += frame.byteLength;
    if (this.#outbox.length === 1) {
      process.nextTick(() => {
        const frames = this.#outbox;
        const bytes = this.#outboxBytes;
        this.#outbox = [];
        this.#outboxBytes = 0;
        if (pipe.destroyed || !pipe.writable) {
          for (const frame of frames) frame.written?.();
          return;
        }
        if (frames.length > 1 && bytes <= COALESCE_MAX_BYTES) {
          // Small messages, concatenated: copied, so their sources are free at once.
          pipe.write(Buffer.concat(frames.map((frame) => frame.bytes), bytes));
          for (const frame of frames) frame.written?.();
          return;
        }
        // One, or large ones, as they are (one writev): a concatenation would copy them again.
        if (frames.length > 1) pipe.cork();
        for (const frame of frames) pipe.write(frame.bytes, frame.written);
        if (frames.length > 1) pipe.uncork();
      });
    }
  }

  /**
   * Opens a turn of the pipe reader at the first chunk of an event-loop iteration; the turn
   * closes when the loop reaches its check phase (setImmediate), i.e. once it has turned.
   */
  #beginTurn(): void {
    if (this.#turn.begin()) this.#framesSinceYield = 0;
  }

  /**
   * After a read: a child over the read rates waits for the throttle (the pipe paused, its
   * writes waiting for room); one kept over them for `isolation.floodMs` is a flood.
   * Otherwise the reader yields to the event loop when its turn is used up.
   */
  #paceReader(): void {
    if (this.#verdict !== undefined || this.#throttled !== undefined) return;
    if (this.#reaped) {
      // A dead child sends nothing more: what it wrote is read at once (the drain before its
      // death is handled is bounded), and its end is its exit, never a flood.
      this.#yieldIfBusy();
      return;
    }
    const verdict = this.#throttle.check();
    if (verdict === 'flood') {
      this.#violation(
        `flood: the child kept sending over ${MESSAGE_RATE.perSecond} messages/s or ${BYTE_RATE.perSecond} bytes/s for ${this.#request.isolation.floodMs} ms`,
      );
      return;
    }
    const pipe = this.#pipe;
    if (verdict === 0 || pipe === undefined) {
      this.#yieldIfBusy();
      return;
    }
    pipe.pause();
    this.#throttled = setTimeout(() => {
      this.#liftThrottle();
    }, verdict);
  }

  /** Ends a throttle's pause (also at the child's exit: what is left of a dead child is read at once). */
  #liftThrottle(): void {
    if (this.#throttled === undefined) return;
    clearTimeout(this.#throttled);
    this.#throttled = undefined;
    this.#throttle.resumed();
    const pipe = this.#pipe;
    if (pipe !== undefined && !pipe.destroyed && !this.#yielding && !this.#backlogged) pipe.resume();
  }

  /** After FRAMES_PER_TURN frames or TURN_BUDGET_MS in one turn, pauses the pipe until the event loop has turned once. */
  #yieldIfBusy(): void {
    const pipe = this.#pipe;
    if (pipe === undefined || this.#yielding) return;
    if (this.#framesSinceYield < FRAMES_PER_TURN && this.#turn.spent() < TURN_BUDGET_MS) return;
    this.#yielding = true;
    pipe.pause();
    setImmediate(() => {
      this.#yielding = false;
      if (!pipe.destroyed && this.#throttled === undefined && !this.#backlogged) pipe.resume();
    });
  }

  #onFrame(payload: Uint8Array): void {
    this.#framesSinceYield += 1;
    if (this.#disposed || this.#verdict !== undefined || this.#pipeIgnored) return;
    this.#throttle.message();
    if (this.#hello && isDoorbellPayload(payload)) {
      // The hot message, recognised without the deserializer.
      this.#plane.wake();
      return;
    }
    const decodeFrom = performance.now();
    const decoded = decodeGuestMessage(payload);
    this.#throttle.decoded(performance.now() - decodeFrom);
    if (!decoded.ok) {
      this.#violation(`${decoded.violation}: ${decoded.detail}`);
      return;
    }
    this.#onMessage(decoded.message);
  }

  #onMessage(message: GuestPipeMessage): void {
    if (!this.#hello) {
      if (message.t !== 'hello') {
        this.#violation(`the first message must be hello, got ${message.t}`);
        return;
      }
      if (message.version !== PROTOCOL_VERSION) {
        this.#kill({ cause: 'version', detail: `the plugin process speaks protocol ${message.version}, the host ${PROTOCOL_VERSION}` });
        return;
      }
      this.#hello = true;
      this.#send({ t: 'launch', launch: this.#launch });
      this.#markLaunched();
      return;
    }
    switch (message.t) {
      case 'hello':
        this.#violation('hello sent twice');
        return;
      case 'doorbell':
        this.#plane.wake();
        return;
      case 'heartbeat':
        this.#plane.noteHeap(message.heapMb);
        if (this.#plane.checkExternalMemory(message.externalMb)) this.#request.sink.heartbeat(this.#plane.heapShare);
        return;
      case 'rpc': {
        const reply = checkRpcReply(message.data);
        if (!reply.ok) {
          this.#violation(reply.detail);
          return;
        }
        // A reply to a call never made, or answered already (RELIABILITY D4): dropped and counted.
        if (!this.#rpcCalls.delete(reply.id)) {
          this.#request.sink.stale();
          return;
        }
        this.#rpc.dispatch(message.data);
        return;
      }
      default:
        if (this.#stopped) {
          // After stop() returned, nothing the plugin sends belongs to the generation any more.
          this.#request.sink.stale();
          return;
        }
        this.#plane.receive(message);
        // Applied at the host's pace (HostDataPlane.receive): past a backlog, the pipe waits.
        if (this.#plane.backlog >= BACKLOG_PAUSE && !this.#backlogged) {
          this.#backlogged = true;
          this.#pipe?.pause();
        }
    }
  }

  /** The pipe ended or closed: once is enough; a live child that closed it is lost (see CHANNEL_CLOSED_GRACE_MS). */
  #pipeEndedEarly(): void {
    if (this.#pipeEndSeen) return;
    this.#pipeEndSeen = true;
    if (this.#reaped || this.#disposed || this.#stopped || this.#verdict !== undefined) return;
    const settled = (): boolean => this.#reaped || this.#disposed || this.#stopped;
    const timer = setTimeout(() => {
      // Two more turns of the event loop first: a host that stalled past the grace right
      // after reading the end has its child's exit (SIGCHLD) waiting in the poll phase, and a
      // normal exit must not read as a closed channel.
      setImmediate(() => {
        setImmediate(() => {
          if (settled()) return;
          this.#kill({ cause: 'channel_closed', detail: `the plugin process closed its control pipe and had not exited ${CHANNEL_CLOSED_GRACE_MS} ms later` });
        });
      });
    }, CHANNEL_CLOSED_GRACE_MS);
    timer.unref();
    this.#child.once('exit', () => {
      clearTimeout(timer);
    });
  }

  /** The child broke the protocol: kill it, and classify the generation as `protocol`. */
  #violation(detail: string): void {
    this.#kill({ cause: 'protocol', detail });
  }

  #kill(fault: Fault): void {
    if (this.#verdict !== undefined || this.#exited) return;
    if (this.#reaped) {
      // The child has exited, and its exit decides. What breaks the rules now is read from a
      // pipe the child no longer writes (a descendant holding it, or the tail of a dead
      // child's last words): read no more of it, and let the exit be reported.
      this.#pipeIgnored = true;
      this.#pipe?.destroy();
      return;
    }
    this.#verdict = fault;
    // What the child sent before it broke a rule is delivered, as it would have been at once.
    this.#plane.applyAll();
    this.#plane.close();
    this.#signal('SIGKILL');
    this.#reportDeath(fault);
    if (!this.#disposed) this.#request.sink.lost(fault);
  }

  /** Signals the child's process group — only while the child has not been reaped. */
  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#reaped) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.#child.kill(signal);
      } catch {
        // Already gone: nothing to signal.
      }
    }
  }

  /**
   * Descendants left in the group die with the child: at its exit, the last moment the pgid
   * is ours (and before its death waits for the pipe a descendant may hold open).
   */
  #killGroup(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#reaped) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is empty.
    }
  }

  /**
   * Runs `then` once the pipe has ended — everything the child wrote has been read — or after
   * PIPE_DRAIN_MS, whichever comes first; at once when there is nothing to wait for (no pipe,
   * or the host killed the child for cause and ignores what it sends).
   */
  #afterPipeEnded(then: () => void): void {
    this.#liftThrottle();
    const pipe = this.#pipe;
    if (pipe === undefined || pipe.readableEnded || pipe.destroyed || this.#verdict !== undefined || this.#disposed) {
      then();
      return;
    }
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pipe.off('end', finish);
      pipe.off('close', finish);
      then();
    };
    const timer = setTimeout(finish, PIPE_DRAIN_MS);
    pipe.once('end', finish);
    pipe.once('close', finish);
    // A pipe paused by #yieldIfBusy resumes on its own at the next turn.
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, override: Fault | undefined): void {
    if (this.#exited) return;
    this.#exited = true;
    if (this.#lingered) this.#request.sink.ended();
    this.#reaped = true;
    this.#exitStatus = { code, signal };
    this.#markExited();
    // The process can no longer touch the frame slots it held.
    this.#request.pool.reclaim(this.#request.generation);
    clearInterval(this.#heartbeatTimer);
    clearInterval(this.#recordTimer);
    // What it sent before it died is delivered before its death is reported.
    if (!this.#disposed) this.#plane.applyAll();
    this.#plane.close();
    const fault = this.#verdict ?? override ?? classifyExit(code, signal, this.#stderr.text(), this.#stdout.text());
    this.#reportDeath(fault);
    // An exit after a stop that returned is the expected end, not a loss.
    if (!this.#disposed && this.#verdict === undefined && !this.#stopped) this.#request.sink.lost(fault);
  }
}

/**
 * The pool, when a generation hands its frames over in shared memory: a segment with a
 * descriptor to pass to the child, and the addon to map it there. Otherwise frames are
 * copied over the pipe (status.transport `copy`). One answer for the status shown before a
 * start and for the session itself.
 */
function sharedSegmentOf(pool: FramePool, binding: ShmBinding | undefined): SharedFramePool | undefined {
  return binding !== undefined && pool instanceof SharedFramePool && pool.fd !== undefined ? pool : undefined;
}

/** Packages the child imports besides the runtime itself (see guest.ts). */
const GUEST_DEPENDENCIES = ['comlink'] as const;

/** Where `name`, as this module resolves it, is installed; undefined if it cannot be found. */
function dependencyRoot(name: string): string | undefined {
  try {
    return findPackageRoot(import.meta.resolve(name), name);
  } catch {
    return undefined;
  }
}

/** Node's permission flags (Node 20: `--experimental-permission`) for a child. */
function permissionFlags(
  permission: { readonly allowFsRead: readonly string[]; readonly allowFsWrite: readonly string[] },
  module: LaunchRequest['module'],
): string[] {
  const runtimeRoot = findPackageRoot(import.meta.url, 'plugin-seam');
  const read = new Set<string>(permission.allowFsRead);
  if (runtimeRoot !== undefined) read.add(`${runtimeRoot}/*`);
  // The child's own dependencies: installed, npm hoists them next to the runtime, outside
  // its folder (the child could not load comlink: ERR_ACCESS_DENIED at start).
  for (const dependency of GUEST_DEPENDENCIES) {
    const root = dependencyRoot(dependency);
    if (root !== undefined && (runtimeRoot === undefined || !root.startsWith(`${runtimeRoot}/`))) read.add(`${root}/*`);
  }
  if ('url' in module && module.url.startsWith('file:')) read.add(`${dirname(fileURLToPath(module.url))}/*`);
  const flags = [process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission'];
  // One flag per path: Node reads a comma-separated list as one path (20.20 measured: only
  // the first entry of `a/*,b/*` was readable, and only because it prefixes the rest).
  for (const path of read) flags.push(`--allow-fs-read=${path}`);
  for (const path of permission.allowFsWrite) flags.push(`--allow-fs-write=${path}`);
  // The shared-memory addon is ours; the permission model otherwise refuses every addon.
  flags.push('--allow-addons');
  return flags;
}
