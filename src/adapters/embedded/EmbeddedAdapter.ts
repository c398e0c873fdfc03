import { MessageChannel, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { messageOf } from '../../errors.js';
import type { Fault } from '../../machines/lifecycleTypes.js';
import { DescriptorRing } from '../../transport/DescriptorRing.js';
import type { Descriptor } from '../../transport/DescriptorRing.js';
import { Doorbell } from '../../transport/Doorbell.js';
import type { FramePool } from '../../transport/FramePool.js';
import { SharedFramePool } from '../../transport/SharedFramePool.js';
import { computeSegmentLayout } from '../../transport/segmentLayout.js';
import type { SegmentLayout } from '../../transport/segmentLayout.js';
import type { Adapter, Delivery, DeliveryResult, GenerationSession, LaunchRequest } from '../Adapter.js';
import { GenerationFault } from '../Adapter.js';
import {
  COMPLETE_DONE,
  COMPLETE_KINDS,
  CONTROL_BYTES,
  CONTROL_FENCE,
  CONTROL_HEARTBEAT,
  CONTROL_STARTED,
  PROTOCOL_VERSION,
  SUBMIT_FRAME,
  SUBMIT_KINDS,
  formatCode,
} from '../protocol.js';
import type { GuestControl, GuestLaunch, GuestToHost, HostToGuest } from '../protocol.js';

/** Deliveries in flight per generation (and the capacity of each ring). */
const RING_CAPACITY = 64;
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
 * slots travel as descriptors on a ring and their `done` outcomes come back on another;
 * messages, outputs, logs, results and failures travel on the worker's port. Both sides
 * park with `Atomics.waitAsync` and ring only a parked peer.
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
    return new SharedFramePool(options);
  }
}

interface Waiting {
  readonly dseq: number;
  readonly resolve: (result: DeliveryResult) => void;
}

class EmbeddedSession implements GenerationSession {
  readonly transport = 'shared-memory' as const;
  readonly maxInFlight = RING_CAPACITY;
  readonly #request: LaunchRequest;
  readonly #pool: SharedFramePool;
  readonly #layout: SegmentLayout;
  readonly #rings: SharedArrayBuffer;
  readonly #control: Int32Array;
  readonly #submit: DescriptorRing;
  readonly #complete: DescriptorRing;
  readonly #submitBell: Doorbell;
  readonly #completeBell: Doorbell;
  readonly #worker: Worker;
  readonly #guest: Comlink.Remote<GuestControl>;
  readonly #waiting = new Map<number, Waiting>();
  /** Ring outcomes waiting for the port messages posted before them. */
  readonly #blocked: Descriptor[] = [];
  /** Control replies waiting for the port messages posted before them. */
  readonly #barriers: { readonly count: number; readonly resolve: () => void }[] = [];
  readonly #died: Promise<never>;
  #received = 0;
  #dseq = 0;
  #exited = false;
  #disposed = false;
  #error: unknown;
  #heartbeatSeen = 0;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #reportDeath: (fault: Fault) => void = () => undefined;

  constructor(request: LaunchRequest, guestUrl: URL) {
    this.#request = request;
    if (!(request.pool instanceof SharedFramePool)) throw new Error('embedded mode needs its own frame pool');
    this.#pool = request.pool;
    this.#layout = computeSegmentLayout({ slots: 1, slotBytes: 64, ringCapacity: RING_CAPACITY });
    this.#rings = new SharedArrayBuffer(this.#layout.totalBytes);
    DescriptorRing.initialize(this.#rings, this.#layout.submit);
    DescriptorRing.initialize(this.#rings, this.#layout.complete);
    const frames = this.#pool.layout;
    this.#submit = new DescriptorRing(this.#rings, this.#layout.submit, {
      role: 'producer',
      slots: frames.slots,
      slotBytes: frames.slotBytes,
      kindLimit: SUBMIT_KINDS,
    });
    this.#complete = new DescriptorRing(this.#rings, this.#layout.complete, {
      role: 'consumer',
      slots: 1,
      slotBytes: 1,
      kindLimit: COMPLETE_KINDS,
      isSlotless: () => true,
      expectedGeneration: request.generation,
    });
    this.#submitBell = new Doorbell(this.#rings, this.#layout.submit.consumerParkOffset);
    this.#completeBell = new Doorbell(this.#rings, this.#layout.complete.consumerParkOffset);
    const controlBuffer = new SharedArrayBuffer(CONTROL_BYTES);
    this.#control = new Int32Array(controlBuffer);
    const { port1, port2 } = new MessageChannel();
    const heartbeatMs = request.heartbeatMs;
    const launch: GuestLaunch & { controlPort: typeof port2; layout: SegmentLayout } = {
      version: PROTOCOL_VERSION,
      instanceId: request.instanceId,
      generation: request.generation,
      moduleUrl: 'url' in request.module ? request.module.url : '',
      config: request.config,
      frames: { buffer: this.#pool.buffer, ...frames },
      rings: { buffer: this.#rings, capacity: RING_CAPACITY },
      control: { buffer: controlBuffer, heartbeatMs },
      haltOnInputError: request.haltOnInputError,
      controlPort: port2,
      layout: this.#layout,
    };
    this.#died = new Promise<never>((_resolve, reject) => {
      this.#reportDeath = (fault) => {
        reject(new GenerationFault(fault));
      };
    });
    // Nobody may await #died (a generation that never starts): keep it from being unhandled.
    this.#died.catch(() => undefined);
    const maxHeapMb = request.limits.maxHeapMb;
    this.#worker = new Worker(guestUrl, {
      workerData: launch,
      transferList: [port2],
      ...(maxHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } }),
    });
    this.#worker.on('error', (error: unknown) => {
      this.#error ??= error;
    });
    this.#worker.on('exit', (code: number) => {
      this.#onExit(code);
    });
    this.#worker.on('message', (message: GuestToHost) => {
      this.#onPort(message);
    });
    this.#guest = Comlink.wrap<GuestControl>(nodeEndpoint(port1));
    this.#heartbeatTimer = setInterval(() => {
      this.#checkHeartbeat();
    }, Math.max(10, Math.floor(heartbeatMs / 5)));
    this.#heartbeatTimer.unref();
    void this.#hostLoop();
  }

  async start(): Promise<void> {
    try {
      const posted = await Promise.race([this.#guest.start(), this.#died]);
      await this.#receivedAtLeast(posted);
    } catch (error) {
      if (error instanceof GenerationFault) throw error;
      throw new GenerationFault({ cause: 'threw', detail: messageOf(error) });
    }
  }

  deliver(input: Delivery): Promise<DeliveryResult> {
    const dseq = ++this.#dseq;
    const result = new Promise<DeliveryResult>((resolve) => {
      this.#waiting.set(input.seq, { dseq, resolve });
    });
    if (input.kind === 'frame') {
      const slot = this.#pool.slotOf(input.data);
      const code = formatCode(input.meta.format);
      if (slot !== undefined && code !== undefined) {
        const pushed = this.#submit.tryPush({
          slot,
          length: input.data.byteLength,
          seq: input.seq,
          generation: this.#request.generation,
          kind: SUBMIT_FRAME,
          width: input.meta.width,
          height: input.meta.height,
          formatCode: code,
          timestamp: input.meta.timestamp,
          aux: dseq,
        });
        if (pushed) {
          this.#submitBell.ring();
          return result;
        }
      }
      // Not in a shared slot (an overflow copy) or an unlisted format: one copy by the port.
      this.#post({ t: 'frame', dseq, seq: input.seq, ...input.meta, data: input.data });
      return result;
    }
    this.#post({ t: 'message', dseq, seq: input.seq, message: input.message });
    return result;
  }

  async stop(): Promise<void> {
    try {
      const posted = await Promise.race([this.#guest.stop(this.#dseq), this.#died]);
      await this.#receivedAtLeast(posted);
    } catch (error) {
      if (error instanceof GenerationFault) throw error;
      throw new GenerationFault({ cause: 'threw', detail: messageOf(error) });
    }
  }

  fence(): readonly number[] {
    Atomics.store(this.#control, CONTROL_FENCE, 1);
    const started = Atomics.load(this.#control, CONTROL_STARTED);
    const unstarted: number[] = [];
    for (const [seq, waiting] of this.#waiting) if (waiting.dseq > started) unstarted.push(seq);
    return unstarted;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#completeBell.ring();
    this.#guest[Comlink.releaseProxy]();
    if (this.#exited) return;
    const watchdog = setTimeout(() => {
      if (!this.#exited) {
        this.#request.sink.lingering({
          cause: 'terminate_hung',
          detail: `the worker did not end within ${TERMINATE_DEADLINE_MS} ms of terminate(); it may be blocked in a synchronous call`,
        });
      }
    }, TERMINATE_DEADLINE_MS);
    watchdog.unref();
    this.#worker.terminate().then(
      () => {
        clearTimeout(watchdog);
      },
      () => {
        clearTimeout(watchdog);
      },
    );
  }

  /**
   * Control replies overtake data-port messages (two channels): wait until every message
   * the guest posted before its reply has arrived, so e.g. what `stop()` emitted is
   * delivered before the generation is fenced. The worker's death ends the wait.
   */
  #receivedAtLeast(count: number): Promise<void> {
    if (this.#received >= count) return Promise.resolve();
    return Promise.race([
      new Promise<void>((resolve) => {
        this.#barriers.push({ count, resolve });
      }),
      this.#died,
    ]);
  }

  #post(message: HostToGuest): void {
    this.#worker.postMessage(message);
  }

  #onExit(code: number): void {
    this.#exited = true;
    // The worker can no longer touch the frame slots it held.
    this.#pool.reclaim(this.#request.generation);
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    const error = this.#error;
    const fault: Fault =
      error !== undefined && (error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { cause: 'oom', exitCode: code, detail: messageOf(error) }
        : { cause: 'exit', exitCode: code, detail: error === undefined ? `the worker exited with code ${code}` : messageOf(error) };
    this.#reportDeath(fault);
    if (!this.#disposed) this.#request.sink.lost(fault);
  }

  #onPort(message: GuestToHost): void {
    if (this.#disposed) return;
    this.#received += 1;
    switch (message.t) {
      case 'output':
        this.#request.sink.output(message.channel, message.value, message.inputSeq);
        break;
      case 'log':
        this.#request.sink.log(message.level, message.message);
        break;
      case 'outcome':
        this.#settle(message.seq, message.ok ? { ok: true, value: message.value } : { ok: false, error: message.error });
        break;
    }
    this.#applyBlocked();
    while (this.#barriers.length > 0 && (this.#barriers[0]?.count ?? 0) <= this.#received) this.#barriers.shift()?.resolve();
  }

  #settle(seq: number, result: DeliveryResult): void {
    const waiting = this.#waiting.get(seq);
    if (waiting === undefined) return;
    this.#waiting.delete(seq);
    waiting.resolve(result);
  }

  #applyBlocked(): void {
    while (this.#blocked.length > 0) {
      const head = this.#blocked[0];
      if (head === undefined || head.aux > this.#received) return;
      this.#blocked.shift();
      this.#settle(head.seq, { ok: true });
    }
  }

  #drainComplete(): void {
    this.#complete.drain(Number.POSITIVE_INFINITY, (d) => {
      if (d.kind !== COMPLETE_DONE) return;
      if (this.#blocked.length > 0 || d.aux > this.#received) this.#blocked.push(d);
      else this.#settle(d.seq, { ok: true });
    });
    const violation = this.#complete.violation;
    if (violation !== undefined && !this.#disposed) {
      this.#request.sink.lost({ cause: 'protocol', detail: violation.detail });
    }
  }

  async #hostLoop(): Promise<void> {
    while (!this.#disposed && !this.#exited) {
      this.#drainComplete();
      await this.#completeBell.parkAsync(() => this.#disposed || this.#complete.hasPending());
    }
  }

  #checkHeartbeat(): void {
    const seen = Atomics.load(this.#control, CONTROL_HEARTBEAT);
    // A guest busy on an input inside its declared budget is not hung: the runtime's input
    // budget watches it. Without a budget, a silent guest is unresponsive.
    const busyWithinBudget = this.#request.inputBudgetMs !== undefined && this.#waiting.size > 0;
    if (seen !== this.#heartbeatSeen || busyWithinBudget) {
      this.#heartbeatSeen = seen;
      this.#request.sink.heartbeat();
    }
  }
}
