import { MessageChannel, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { messageOf } from '../../errors.js';
import { STACK_FRAMES_KEPT, isStackFrame } from '../tailSummary.js';
import type { Fault } from '../../machines/lifecycleTypes.js';
import type { FramePool } from '../../transport/FramePool.js';
import { SharedFramePool } from '../../transport/SharedFramePool.js';
import { heapPoolSegment } from '../../transport/PoolSegment.js';
import { computeSegmentLayout } from '../../transport/segmentLayout.js';
import { atomicsNotify } from '../../transport/Doorbell.js';
import { futexNotify } from '../../transport/futexDoorbell.js';
import { loadShmBinding } from '../../transport/shmBinding.js';
import type { Adapter, Delivery, DeliverySettle, GenerationSession, LaunchRequest, TransportKind } from '../Adapter.js';
import { EXIT_DEADLINE_MS, GenerationFault, exitsInTime } from '../Adapter.js';
import { HostDataPlane } from '../HostDataPlane.js';
import type { FenceResult } from '../HostDataPlane.js';
import { CONTROL_BYTES, CONTROL_RECEIVED, PROTOCOL_VERSION } from '../protocol.js';
import type { EmbeddedGuestControl, EmbeddedLaunch, GuestToHost, HostToGuest } from '../protocol.js';
import { MessageBatcher } from '../../transport/MessageBatcher.js';

/** Deliveries in flight per generation (and the capacity of each ring). */
export const RING_CAPACITY = 64;
/** How long `terminate()` may take before the generation is reported as lingering. */
const TERMINATE_DEADLINE_MS = 2_000;

/** Options of the embedded adapter. */
export interface EmbeddedAdapterOptions {
  /** Default heartbeat deadline in ms. */
  readonly heartbeatMs?: number;
}

/**
 * `embedded` mode: the plugin runs on a dedicated worker thread, one Worker per
 * generation, behind the same contract.
 *
 * Control (start, stop) goes over Comlink on a MessagePort; every Comlink call is raced
 * against the worker's death, so none stays pending when the worker dies. Frames in shared
 * slots, and messages whose value fits a ring entry, travel as descriptors on a ring and
 * their outcomes come back on another; other messages, outputs, logs, other results and
 * failures travel on the worker's port. The host parks
 * with `Atomics.waitAsync`; the worker sleeps up to 1 ms in `Atomics.wait` for the next
 * frame, then parks with `Atomics.waitAsync`; each rings only a parked peer, and the host
 * rings after every port message (a blocked worker reads none).
 *
 * What it cannot contain: a native crash (segfault, abort) in the worker ends the whole
 * process; `resourceLimits` bound the JavaScript heap but not ArrayBuffer/Buffer memory, so
 * an embedded plugin can exhaust the host's memory; a worker blocked in a synchronous
 * syscall ignores `terminate()` (reported in `status.lingering`). Use isolated mode for
 * plugins that may do any of these.
 */
export class EmbeddedAdapter implements Adapter {
  readonly mode = 'embedded' as const;
  readonly heartbeatMs: number;
  readonly #guestUrl = new URL('./guest.js', import.meta.url);

  constructor(options: EmbeddedAdapterOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
  }

  launch(request: LaunchRequest): GenerationSession {
    return new EmbeddedSession(request, this.#guestUrl);
  }

  createFramePool(options: { readonly slots: number; readonly slotBytes: number; readonly poisonReleased: boolean }): FramePool {
    // Its pages go back to the system when the pool closes (with the addon; see heapPoolSegment).
    const binding = loadShmBinding();
    return new SharedFramePool(options, (byteLength) => heapPoolSegment(binding, byteLength));
  }

  transportOf(_pool: FramePool): TransportKind {
    return 'shared-memory';
  }
}

class EmbeddedSession implements GenerationSession {
  readonly transport = 'shared-memory' as const;
  readonly maxInFlight = RING_CAPACITY;
  readonly #request: LaunchRequest;
  readonly #pool: SharedFramePool;
  readonly #plane: HostDataPlane;
  readonly #worker: Worker;
  readonly #guest: Comlink.Remote<EmbeddedGuestControl>;
  readonly #died: Promise<never>;
  /** The worker's exit code, once it exited. */
  #exitCode: number | undefined;
  /** Resolves when the worker has exited. */
  readonly #exit: Promise<void>;
  #markExited: () => void = () => undefined;
  /** The plugin's stop() returned and the worker was asked to end: its end is the stop's to judge. */
  #stopping = false;
  /** Reported lingering (it outlived terminate()): its end, when it comes, is reported too. */
  #lingered = false;
  #disposed = false;
  #error: unknown;
  readonly #heartbeatTimer: ReturnType<typeof setInterval>;
  /** Messages were cloned when accepted: batching them per turn changes no semantics. */
  readonly #outbox = new MessageBatcher<HostToGuest>((messages) => {
    if (this.#exited) return;
    this.#worker.postMessage(messages);
    // The guest may be asleep in a blocking wait, where no port message reaches it.
    this.#plane.ringGuestForMessage();
  });
  #reportDeath: (fault: Fault) => void = () => undefined;

  constructor(request: LaunchRequest, guestUrl: URL) {
    this.#request = request;
    if (!(request.pool instanceof SharedFramePool)) throw new Error('embedded mode needs its own frame pool');
    this.#pool = request.pool;
    const layout = computeSegmentLayout({ slots: 1, slotBytes: 64, ringCapacity: RING_CAPACITY });
    const rings = new SharedArrayBuffer(layout.totalBytes);
    const controlBuffer = new SharedArrayBuffer(CONTROL_BYTES);
    const control = new Int32Array(controlBuffer);
    // The addon is optional here: without it, Atomics.wait/notify and no yield.
    const binding = loadShmBinding();
    const futexDoorbell = binding?.futexWait !== undefined && binding.futexWake !== undefined;
    this.#plane = new HostDataPlane({
      generation: request.generation,
      pool: this.#pool,
      rings: { buffer: rings, layout },
      control,
      post: (message) => {
        this.#outbox.push(message);
      },
      // Credit for the guest's outputs: what the application has taken (see CONTROL_RECEIVED).
      onApplied: (received) => {
        Atomics.store(control, CONTROL_RECEIVED, received);
        Atomics.notify(control, CONTROL_RECEIVED);
      },
      // A worker asleep in a blocking wait is woken by a futex wake: Atomics.notify would cost
      // it two more context switches on one core (see futexDoorbell.ts).
      // A process-private futex: the worker is a thread of this process (so is its wait).
      ...(futexDoorbell ? { notifyGuest: futexNotify(binding, atomicsNotify, 'process') } : {}),
      // On one core, the worker answers before the host parks (without the addon it runs when
      // the host next sleeps).
      yieldCore: binding?.schedYield,
      sink: request.sink,
      inputBudgetMs: request.inputBudgetMs,
      maxArrayBufferMb: request.limits.maxArrayBufferMb,
      maxHeapMb: request.limits.maxHeapMb,
      onOverLimit: (detail) => {
        // A worker's Buffers are the host's memory: end it before it takes the host down.
        if (this.#disposed) return;
        request.sink.lost({ cause: 'oom', detail });
      },
      onViolation: (detail) => {
        // The guest broke the ring protocol: end it as lost/protocol.
        if (!this.#disposed) request.sink.lost({ cause: 'protocol', detail });
      },
    });
    const { port1, port2 } = new MessageChannel();
    const launch: EmbeddedLaunch = {
      version: PROTOCOL_VERSION,
      instanceId: request.instanceId,
      generation: request.generation,
      moduleUrl: 'url' in request.module ? request.module.url : '',
      config: request.config,
      frames: { buffer: this.#pool.buffer, ...this.#pool.layout },
      rings: { buffer: rings, capacity: RING_CAPACITY },
      control: { buffer: controlBuffer, byteOffset: 0, heartbeatMs: request.heartbeatMs },
      haltOnInputError: request.haltOnInputError,
      poisonReleased: request.poisonReleased,
      controlPort: port2,
      layout,
      futexDoorbell,
    };
    this.#died = new Promise<never>((_resolve, reject) => {
      this.#reportDeath = (fault) => {
        reject(new GenerationFault(fault));
      };
    });
    // A generation that never starts has nobody awaiting #died: keep it from being unhandled.
    this.#died.catch(() => undefined);
    const maxHeapMb = request.limits.maxHeapMb;
    this.#worker = new Worker(guestUrl, {
      workerData: launch,
      transferList: [port2],
      // Node's default 4 MiB stack: the native stack too, which a plugin's addon may need (a
      // stack as shallow as the host's JavaScript one would crash the whole process there).
      ...(maxHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } }),
    });
    this.#worker.on('error', (error: unknown) => {
      this.#error ??= error;
    });
    // A message the worker could send but this thread cannot read (V8 refuses some values
    // only when it decodes them): what it was — an output, a batch of outcomes, a control
    // reply — and how many messages it counted for are unknown, and the ledger cannot be
    // kept. Silently dropped, it left an input pending and every later ring outcome waiting
    // behind it; the generation ends instead, and every pending input settles.
    const unreadable = (error: unknown): void => {
      if (!this.#disposed) request.sink.lost({ cause: 'protocol', detail: `a message from the worker could not be read on the host's thread: ${messageOf(error)}` });
    };
    this.#worker.on('messageerror', unreadable);
    port1.on('messageerror', unreadable);
    this.#exit = new Promise<void>((resolve) => {
      this.#markExited = resolve;
    });
    this.#worker.on('exit', (code: number) => {
      this.#onExit(code);
    });
    this.#worker.on('message', (message: GuestToHost | GuestToHost[]) => {
      if (this.#disposed) return;
      if (Array.isArray(message)) for (const one of message) this.#plane.receive(one);
      else this.#plane.receive(message);
    });
    this.#guest = Comlink.wrap<EmbeddedGuestControl>(nodeEndpoint(port1));
    this.#heartbeatTimer = setInterval(() => {
      this.#plane.sampleHeartbeat();
    }, Math.max(10, Math.floor(request.heartbeatMs / 5)));
    this.#heartbeatTimer.unref();
  }

  async start(): Promise<void> {
    await this.#plane.control(() => this.#guest.start(), this.#died);
  }

  deliver(input: Delivery, settle: DeliverySettle): void {
    this.#plane.deliver(input, settle);
  }

  async stop(): Promise<void> {
    await this.#plane.control(() => {
      const reply = this.#guest.stop(this.#plane.lastDseq);
      // Comlink posted the call synchronously; a guest in a blocking wait needs the bell.
      this.#plane.ringGuestForMessage();
      return reply;
    }, this.#died);
    await this.#exitAfterStop();
  }

  /**
   * A generation is stopped once its worker has ended, as an isolated one once its process
   * has (RELIABILITY F5): asked to, once its stop replied, the guest ends its thread a
   * macrotask later, after what the plugin's stop() left queued. An error thrown there (a
   * microtask of the stop that throws, say) failed the stop in isolated mode and went
   * unreported here, the worker terminated over it. Any end but a clean one is a teardown
   * failure; one that does not come within EXIT_DEADLINE_MS is `timeout` (the worker is then
   * terminated by dispose()).
   */
  async #exitAfterStop(): Promise<void> {
    this.#stopping = true;
    if (!this.#exited && !this.#disposed) {
      this.#guest.end().catch(() => undefined);
      if (!(await exitsInTime(this.#exit))) throw new GenerationFault({ cause: 'timeout', detail: `exit blocked: the worker had not ended ${EXIT_DEADLINE_MS} ms after its stop() returned` });
    }
    const code = this.#exitCode ?? 0;
    if (this.#error === undefined && code === 0) return;
    const fault = this.#exitFault(code);
    const what = this.#error === undefined ? `exited with code ${code}` : fault.cause === 'oom' ? `ran out of memory: ${fault.detail ?? ''}` : `threw ${fault.detail ?? ''}`;
    throw new GenerationFault({ ...fault, detail: `after its stop() returned, the worker ${what}` });
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
    clearInterval(this.#heartbeatTimer);
    this.#plane.close();
    this.#guest[Comlink.releaseProxy]();
    if (this.#exited) return;
    const watchdog = setTimeout(() => {
      if (!this.#exited) {
        this.#lingered = true;
        this.#request.sink.lingering({
          cause: 'terminate_hung',
          detail: `the worker did not end within ${TERMINATE_DEADLINE_MS} ms of terminate(); it may be blocked in a synchronous call`,
        });
      }
    }, TERMINATE_DEADLINE_MS);
    watchdog.unref();
    const settled = (): void => {
      clearTimeout(watchdog);
    };
    this.#worker.terminate().then(settled, settled);
  }

  get #exited(): boolean {
    return this.#exitCode !== undefined;
  }

  /** How the worker's end with `code` (and the error it reported, if any) reads as a fault. */
  #exitFault(code: number): Fault {
    const error = this.#error;
    if (error !== undefined && (error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') return { cause: 'oom', exitCode: code, detail: messageOf(error) };
    return { cause: 'exit', exitCode: code, detail: error === undefined ? `the worker exited with code ${code}` : uncaughtDetail(error) };
  }

  #onExit(code: number): void {
    if (this.#lingered) this.#request.sink.ended();
    // What the worker posted before it ended is delivered before its end is reported.
    if (!this.#disposed) this.#plane.applyAll();
    this.#exitCode = code;
    this.#markExited();
    // The worker can no longer touch the frame slots it held.
    this.#pool.reclaim(this.#request.generation);
    clearInterval(this.#heartbeatTimer);
    this.#plane.close();
    const fault = this.#exitFault(code);
    this.#reportDeath(fault);
    if (!this.#disposed && !this.#stopping) this.#request.sink.lost(fault);
  }
}

/**
 * What a worker's uncaught error says in its failure: its name and message, whole, then the
 * first frames of its stack — the message alone left an application (and `seam check`) no
 * way to find where a plugin threw.
 */
function uncaughtDetail(error: unknown): string {
  let stack: unknown;
  try {
    stack = (error as { stack?: unknown } | null)?.stack;
  } catch {
    // A getter that throws: the message is all there is.
  }
  // As many frames as an isolated child's stderr tail keeps (tailSummary).
  const frames = typeof stack === 'string' ? stack.split('\n').filter(isStackFrame) : [];
  return [messageOf(error), ...frames.slice(0, STACK_FRAMES_KEPT)].join('\n');
}
