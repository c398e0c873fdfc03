import type { Delivery, DeliveryResult } from '../Adapter.js';
import { EVENT_LOOP_TURN_MS } from '../Adapter.js';
import { availableParallelism } from 'node:os';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import process from 'node:process';
import { isNativeError } from 'node:util/types';
import {
  COMPLETE_DONE,
  COMPLETE_KINDS,
  COMPLETE_VALUE,
  CONTROL_BYTES,
  CONTROL_EXTERNAL_MB,
  CONTROL_FENCE,
  CONTROL_HEAP_MB,
  CONTROL_HEARTBEAT,
  CONTROL_POSTED,
  CONTROL_STARTED,
  GUEST_ERROR_NAME_MAX_LENGTH,
  INVALID_RING_VALUE,
  SUBMIT_KINDS,
  SUBMIT_MESSAGE,
  completeInPayload,
  decodeFormat,
  decodeRingValue,
  encodeRingValue,
  submitInPayload,
  submitWithExtra,
  uncloneableFailure,
} from '../protocol.js';
import type { ControlReply, GuestControl, GuestLaunch, GuestToHost, HostToGuest, RingValue } from '../protocol.js';
import { DescriptorRing, scratchDescriptor } from '../../transport/DescriptorRing.js';
import type { Descriptor, MutableDescriptor } from '../../transport/DescriptorRing.js';
import { Doorbell } from '../../transport/Doorbell.js';
import { POISON_BYTE } from '../../transport/SlotPool.js';
import type { BlockingWaitFn, NotifyFn, ParkOutcome } from '../../transport/Doorbell.js';
import type { SegmentLayout } from '../../transport/segmentLayout.js';
import { PluginRunner, RAN_SYNC } from './PluginRunner.js';
import { thrownDetail } from '../thrownDetail.js';
import { loadPluginDefinition } from './loadPluginDefinition.js';
import { SeqMap } from '../../transport/SeqMap.js';
import { FifoQueue } from '../../transport/FifoQueue.js';

const MIB = 1024 * 1024;

/** Awaited for one turn of the microtask queue: settled already, so an await of it allocates no promise of its own. */
const MICROTASK_TURN = Promise.resolve();

/** ArrayBuffer/Buffer/SharedArrayBuffer memory this thread holds, in whole MiB: what `limits.maxArrayBufferMb` bounds. */
export function externalMemoryMb(): number {
  // V8's external memory counts the ArrayBuffers (and WebAssembly memories) of this isolate,
  // not the SharedArrayBuffers it created; Node's allocator count has those (and the same
  // ArrayBuffers): the larger of the two. (A plugin's SharedArrayBuffers went unseen, and an
  // embedded one grew the host to a GiB under a 64 MiB limit.)
  return Math.ceil(Math.max(getHeapStatistics().external_memory, process.memoryUsage().arrayBuffers) / MIB);
}

/**
 * This thread's old generation in use, in whole MiB (see CONTROL_HEAP_MB): what
 * `limits.maxHeapMb` bounds (`maxOldGenerationSizeMb`, `--max-old-space-size`). The whole
 * heap counted the young generation too, and a plugin making short-lived garbage under a
 * small limit (8 MiB) read as at its limit.
 */
export function heapMb(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) if (!space.space_name.startsWith('new_')) used += space.space_used_size;
  return Math.floor(used / MIB);
}

/** Ring outcomes pushed before the host is rung even though more inputs are waiting. */
const WAKE_BATCH = 16;

/**
 * How long, in ms, an idle guest sleeps in a blocking wait for the next input before it parks
 * on its event loop (the value both guests give `blockingParkMs`). A frame that comes within
 * it wakes the plugin in microseconds, not a turn of the event loop; a plugin timer due
 * meanwhile runs up to this late. One tick of the kernel's timer at 250 Hz (the common
 * setting), never less: a shorter timeout is usually the CPU's next timer event, so arming
 * it, then cancelling it when an input comes first, reprograms the timer hardware twice per
 * wait — in a virtual machine each is a trap to the hypervisor. Measured with 1 ms (one core,
 * one input at a time): ~60 % of round trips took ~11 µs more, a median of 18 µs against 9 µs
 * with this; a bare futex ping-pong in C shows the same step below one tick and none above.
 * In embedded mode also how long `worker.terminate()` may wait for the wait to return (native
 * code it cannot cut).
 */
export const BLOCKING_PARK_MS = 4;

/** How a guest talks to its host on the data plane. */
export interface GuestChannel {
  /** Posts one message; copies synchronously and throws `DataCloneError` when it cannot. */
  post(message: GuestToHost): void;
  /** Registers the listener of the host's messages. */
  listen(listener: (message: HostToGuest) => void): void;
  /**
   * Whether a failed control reply, with what the plugin's `start` or `stop` threw in it, can
   * be sent as it is. Default: a structured clone of it succeeds.
   */
  readonly crosses?: (reply: Extract<ControlReply, { ok: false }>) => boolean;
  /** How to wake the host when it parked on the complete ring (default `Atomics.notify`). */
  readonly notifyHost?: NotifyFn;
  /** Sends what `post` queued, if it batches. Called before the plugin runs again. */
  readonly flush?: () => void;
  /**
   * How long, in ms, an idle session may sleep in a blocking wait for the next frame before
   * it parks on its event loop (undefined: never block; see {@link BLOCKING_PARK_MS}: less
   * than a kernel tick costs each wake-up a timer reprogramming). Only for a guest the host
   * can wake in that wait — `Atomics.notify` for a thread of the same process, or a futex wake
   * (`blockingWait`, see futexDoorbell.ts) — and only when the host rings after every
   * message and control call: a blocked thread runs no event loop, so nothing else would
   * wake it before the timeout.
   */
  readonly blockingParkMs?: number;
  /** How the blocking park sleeps (default `Atomics.wait`; the addon's futex, see futexDoorbell.ts). */
  readonly blockingWait?: BlockingWaitFn;
  /**
   * How long, in µs, the blocking park first polls the ring (adaptive: see
   * `DoorbellOptions.spinMicros`). One input at a time, the host's next input arrives
   * one host wake-up plus its work after this side's outcome; caught by the spin, it costs
   * the host no wake call and this side no wake-up. Only with `blockingParkMs`, and only
   * when this process may run on more than one core: a spin on the host's only core would
   * keep the host from publishing.
   */
  readonly spinMicros?: number;
  /**
   * The loop's clock in ms (default `performance.now`): when it has been busy long enough to
   * owe the event loop a turn, and how long a blocking park may last. Injected by tests so a
   * stalled machine does not change which path the loop takes.
   */
  readonly now?: () => number;
  /**
   * The host's doorbells arrive as messages (a pipe), reported through
   * {@link GuestSession.wake}, not by `Atomics.notify`: the session then sleeps on a promise
   * that `wake` resolves directly, saving the extra turn an `Atomics.waitAsync` would take.
   */
  readonly doorbellByMessage?: boolean;
  /**
   * Where no memory is shared with the host (the isolated copy transport): publishes the
   * start of delivery `dseq` in the start record, then reads its fence, and returns whether
   * the host has fenced the generation (see START_RECORD_STARTED). Default: the control
   * block's CONTROL_STARTED and CONTROL_FENCE words.
   */
  readonly startFence?: (dseq: number) => boolean;
  /**
   * Takes back the bytes of a frame that came by message once its input settled (the plugin's
   * view of them has expired): the isolated copy transport reads the next frames into them,
   * so its memory does not grow with garbage the collector has yet to free.
   */
  readonly recycleFrameData?: (data: Uint8Array) => void;
  /** ArrayBuffer bytes the channel itself holds (recycled frame buffers): not the plugin's memory. */
  readonly channelBytes?: () => number;
}

/**
 * One delivery, with its place in the order and whether its outcome may go back on the
 * complete ring: one object, handed to the runner as the delivery it is (one allocation per
 * input, not two).
 */
type Pending = Delivery & {
  readonly dseq: number;
  readonly viaRing: boolean;
};

/**
 * The guest side of one generation, whatever carries it (a worker thread or a plugin
 * process): it runs the plugin through {@link PluginRunner}, takes deliveries from the
 * submit ring and the data port and runs them strictly in `dseq` order, posts outputs and
 * logs on the port, and returns outcomes (for an input that came on the ring: a frame's
 * `done`, or a message's result when it fits a ring entry, on the complete ring with the
 * port-message barrier; everything else on the port). When idle it parks on its event loop
 * (`Atomics.waitAsync`, or a promise a message doorbell resolves); a channel may allow a
 * short blocking wait first (`blockingParkMs`: `Atomics.wait`, or a futex), which wakes in
 * microseconds instead of a turn of the event loop — bounded, and never begun once
 * EVENT_LOOP_TURN_MS have passed since the event loop last ran, so the plugin's own timers
 * and I/O wait at most about the two together — and a short poll of the ring before that
 * (`spinMicros`).
 * It drains every available descriptor per wake-up.
 */
export class GuestSession {
  readonly #launch: GuestLaunch;
  readonly #channel: GuestChannel;
  /** The plugin's stop() has returned (or thrown): nothing it emits afterwards is posted. */
  #stopped = false;
  /** Bytes of the frames that came by message and have not settled: the runtime's, not the plugin's. */
  #heldFrameBytes = 0;
  readonly #submit: DescriptorRing;
  readonly #complete: DescriptorRing;
  readonly #submitBell: Doorbell;
  readonly #completeBell: Doorbell;
  /** The frame slots' shared memory: a frame is a view of it (see #slotView). */
  readonly #frames: SharedArrayBuffer;
  /** The view last made of each slot (see #slotView). */
  readonly #slotViews: (Uint8Array | undefined)[] = [];
  readonly #control: Int32Array;
  readonly #fromPort = new SeqMap<Pending>();
  /** Deliveries read off the submit ring, waiting their turn (a queue, not an array: see FifoQueue). */
  readonly #fromRing = new FifoQueue<Pending>(64);
  #runner: PluginRunner | undefined;
  #expected = 1;
  /** Data-port messages posted so far: the barrier a ring outcome carries. */
  #posted = 0;
  /** Outcomes pushed on the complete ring since the host was last rung. */
  #owed = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #stopAfter: { readonly dseq: number; readonly resolve: () => void } | undefined;
  /** The host raised the fence and the loop saw it: it starts nothing more. */
  #fenced = false;
  #running = false;
  /** When the loop last let the event loop run (ms of {@link #now}). */
  #lastTurn = 0;
  /** The loop's clock (see GuestChannel.now). */
  readonly #now: () => number;
  /** Whether the last delivery run came by message, not on the ring. */
  #lastByMessage = false;
  /** Ends the loop's wait for a delivery the host posted by message (see #awaitPort). */
  #portWaiter: (() => void) | undefined;
  /** Scratch of {@link encodeRingValue}. */
  readonly #value: RingValue = { tag: 0, number: 0, length: 0 };
  /** Scratch of the complete ring's pushes (tryPush copies it): no descriptor object per outcome. */
  readonly #desc: MutableDescriptor;

  constructor(launch: GuestLaunch, layout: SegmentLayout, channel: GuestChannel) {
    this.#launch = launch;
    this.#desc = scratchDescriptor(launch.generation);
    this.#channel = channel;
    this.#now = channel.now ?? (() => performance.now());
    const { buffer } = launch.rings;
    this.#submit = new DescriptorRing(buffer, layout.submit, {
      role: 'consumer',
      slots: launch.frames.slots,
      slotBytes: launch.frames.slotBytes,
      expectedGeneration: launch.generation,
      kindLimit: SUBMIT_KINDS,
      inPayload: submitInPayload,
      withExtra: submitWithExtra,
    });
    this.#complete = new DescriptorRing(buffer, layout.complete, {
      role: 'producer',
      slots: 1,
      slotBytes: 1,
      kindLimit: COMPLETE_KINDS,
      inPayload: completeInPayload,
      isSlotless: () => true,
    });
    const spinMicros = channel.blockingParkMs !== undefined && availableParallelism() > 1 ? (channel.spinMicros ?? 0) : 0;
    this.#submitBell = new Doorbell(buffer, layout.submit.consumerParkOffset, channel.blockingWait === undefined ? { spinMicros } : { spinMicros, wait: channel.blockingWait });
    this.#completeBell = new Doorbell(buffer, layout.complete.consumerParkOffset, channel.notifyHost === undefined ? {} : { notify: channel.notifyHost });
    this.#frames = launch.frames.buffer;
    this.#control = new Int32Array(launch.control.buffer, launch.control.byteOffset, CONTROL_BYTES / 4);
    channel.listen((message) => {
      this.#onPort(message);
    });
  }

  /** Loads the plugin module and runs its `start`. Resolves with the port-message barrier. */
  async start(): Promise<number> {
    const definition = await loadPluginDefinition({ url: this.#launch.moduleUrl });
    const runner = new PluginRunner(definition, {
      generation: this.#launch.generation,
      config: this.#launch.config,
      sink: {
        // After the plugin's stop() returned, the generation is over for the plugin: what it
        // emits or logs from a timer then is dropped here, as inline drops it (a stale
        // output), instead of reaching the application while the host winds down.
        output: (channel, value, inputSeq) => {
          if (!this.#stopped) this.#post({ t: 'output', channel, value, inputSeq });
        },
        log: (level, message) => {
          if (!this.#stopped) this.#post({ t: 'log', level, message });
        },
      },
    });
    this.#runner = runner;
    this.#heartbeat = setInterval(() => {
      // A host whose post threw withdraws CONTROL_POSTED (HostDataPlane.deliver): a wait for
      // that message ends here. A guard: the one channel that waits on the port (a worker's
      // MessagePort, posting an already cloned value) does not throw today.
      if (this.#portWaiter !== undefined && !this.#postedReached()) this.#wakeSelf();
      // Before the beat: the host reads it when it sees the counter move.
      Atomics.store(this.#control, CONTROL_HEAP_MB, heapMb());
      this.beat();
      Atomics.store(this.#control, CONTROL_EXTERNAL_MB, this.pluginMemoryMb());
    }, Math.max(10, Math.floor(this.#launch.control.heartbeatMs / 5)));
    Atomics.add(this.#control, CONTROL_HEARTBEAT, 1);
    await runner.start();
    this.#loop();
    return this.#posted;
  }

  /** Runs every delivery up to `lastDseq`, then the plugin's `stop`. Resolves with the port-message barrier. */
  async stop(lastDseq: number): Promise<number> {
    const runner = this.#runner;
    if (runner === undefined) return this.#posted;
    // Fenced already: the loop has ended, and what is left of the deliveries never starts.
    if (lastDseq >= this.#expected && !this.#fenced) {
      await new Promise<void>((resolve) => {
        this.#stopAfter = { dseq: lastDseq, resolve };
        this.#wakeSelf();
      });
    }
    this.#running = false;
    this.#wakeSelf();
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    try {
      await runner.stop();
    } finally {
      this.#stopped = true;
    }
    return this.#posted;
  }

  /** The control plane of this session, as the guest exposes it over Comlink. */
  control(): GuestControl {
    const reply = (call: () => Promise<number>): Promise<ControlReply> =>
      call().then(
        (posted): ControlReply => ({ ok: true, posted }),
        (error: unknown): ControlReply => failedReply(this.#posted, error, this.#channel.crosses ?? clones),
      );
    return {
      start: () => reply(() => this.start()),
      stop: (lastDseq: number) => reply(() => this.stop(lastDseq)),
    };
  }

  /** A doorbell from the host arrived by another way (a pipe): wake this side's own wait. */
  wake(): void {
    if (this.#channel.doorbellByMessage === true) this.#wakeSelf();
    else this.#submitBell.wakeLocal();
  }

  /**
   * Says this side is alive while it waits on the host (a write held by a full pipe): the
   * heartbeat its timer would give, had its event loop been free to run it.
   */
  beat(): void {
    Atomics.add(this.#control, CONTROL_HEARTBEAT, 1);
  }

  #post(message: GuestToHost): void {
    this.#channel.post(message);
    this.#posted += 1;
  }

  /**
   * Whether the host has posted the next delivery by message (CONTROL_POSTED). Compared as
   * int32, the word's width: delivery numbers pass 2^31 in a long generation.
   */
  #postedReached(): boolean {
    return ((Atomics.load(this.#control, CONTROL_POSTED) - this.#expected) | 0) >= 0;
  }

  /** Data-plane messages posted so far (the host counts them as it applies them). */
  get posted(): number {
    return this.#posted;
  }

  /**
   * The ArrayBuffer/Buffer memory of the plugin, in whole MiB, as `limits.maxArrayBufferMb`
   * bounds it: this side's, less the frames it holds for the runtime (come by message, not
   * settled yet) and the channel's own buffers (recycled frame buffers). Measured here, at one
   * instant: the host subtracting what it had in flight, later, counted frames settled since.
   */
  pluginMemoryMb(): number {
    const runtimeBytes = this.#heldFrameBytes + (this.#channel.channelBytes?.() ?? 0);
    return Math.max(0, externalMemoryMb() - Math.floor(runtimeBytes / MIB));
  }

  #onPort(message: HostToGuest): void {
    if (message.t === 'message') {
      this.#fromPort.set(message.dseq, { kind: 'message', seq: message.seq, message: message.message, dseq: message.dseq, viaRing: false });
    } else {
      const { width, height, format, timestamp } = message;
      this.#fromPort.set(message.dseq, {
        kind: 'frame',
        seq: message.seq,
        meta: { width, height, format, timestamp },
        data: message.data,
        dseq: message.dseq,
        viaRing: false,
      });
      this.#heldFrameBytes += message.data.byteLength;
    }
    // Wake the loop if it is parked waiting for this delivery.
    this.#wakeSelf();
  }

  #drainRing(): void {
    this.#submit.drain(Number.POSITIVE_INFINITY, this.#takeFromRing);
  }

  /** Queues one delivery read off the submit ring (a field: no closure to make per drain, i.e. per input). */
  readonly #takeFromRing = (d: Descriptor, payload: Buffer): void => {
    if (d.kind === SUBMIT_MESSAGE) {
      const message = decodeRingValue(d.formatCode, d.timestamp, payload, d.length);
      // The host only encodes tags it knows: anything else is a bug on one side, loudly.
      if (message === INVALID_RING_VALUE) throw new Error(`plugin-seam guest: message ${d.seq} has value tag ${d.formatCode}, which names no value`);
      this.#fromRing.push({ kind: 'message', seq: d.seq, message, dseq: d.aux, viaRing: true });
      return;
    }
    this.#fromRing.push({
      kind: 'frame',
      seq: d.seq,
      meta: { width: d.width, height: d.height, format: decodeFormat(d.formatCode, payload, d.extra), timestamp: d.timestamp },
      data: this.#slotView(d.slot, d.length),
      dseq: d.aux,
      viaRing: true,
    });
  };

  /**
   * The first `length` bytes of a slot. A slot's view is kept and handed out again while its
   * frames keep one size (a stream): no view to make per frame (~45 ns) or to collect. The
   * same bytes a fresh view would show; a plugin that kept one past its frame reads the
   * slot's current bytes either way (poisoned, with `frames.poisonReleased`). In range: the
   * ring validated slot and length against the layout.
   */
  #slotView(slot: number, length: number): Uint8Array {
    const kept = this.#slotViews[slot];
    if (kept !== undefined && kept.length === length) return kept;
    const { slotStride, slotsOffset } = this.#launch.frames;
    // The constructor, not subarray() of a whole-buffer view: half the cost (no species lookup).
    const view = new Uint8Array(this.#frames, slotsOffset + slot * slotStride, length);
    this.#slotViews[slot] = view;
    return view;
  }

  #next(): Pending | undefined {
    const expected = this.#expected;
    const head = this.#fromRing.peek();
    if (head !== undefined && head.dseq === expected) {
      this.#fromRing.shift();
      return head;
    }
    const pending = this.#fromPort.get(expected);
    if (pending === undefined) return undefined;
    this.#fromPort.delete(expected);
    return pending;
  }

  /** Starts the delivery loop (once: a second call while it runs does nothing). */
  #loop(): void {
    const runner = this.#runner;
    if (runner === undefined || this.#running) return;
    this.#running = true;
    this.#lastTurn = this.#now();
    void this.#stretch(runner);
  }

  /**
   * The delivery loop, one stretch at a time: it runs deliveries back to back (each awaited, a
   * microtask) until it must wait for the event loop — a turn it owes, a park, the port —
   * and after that wait hands over to a fresh call of itself. Why not one call for the life
   * of the session: an async function saves its frame into its generator at every await, and
   * once a long-lived generator is promoted to the old generation each save of a young value
   * is a write barrier's slow path (`perf`: ~1 % of the guest's time pipelined, on top of the
   * queue's ~10 % that FifoQueue removed). A stretch lasts a few ms at most, and stays young.
   */
  async #stretch(runner: PluginRunner, afterTurn = false): Promise<void> {
    const blockingParkMs = this.#channel.blockingParkMs;
    const now = this.#now;
    for (let first = true; ; first = false) {
      if (!this.#running) return;
      // Right after a turn, on to the ring, not back to this check: a thread descheduled
      // there (a loaded machine) would otherwise take turn after turn and never run an input.
      if (!(first && afterTurn) && now() - this.#lastTurn >= EVENT_LOOP_TURN_MS) {
        // Busy for a while (inputs back to back, or blocking parks): let timers, I/O, the
        // heartbeat and control calls run before the next input.
        this.#channel.flush?.();
        this.#wakeHost();
        await new Promise<void>((resolve) => {
          setImmediate(resolve);
        });
        this.#lastTurn = now();
        this.#continueIn(runner, true);
        return;
      }
      this.#drainRing();
      const next = this.#next();
      if (next === undefined) {
        // About to sleep (or stop): the host hears of every outcome pushed so far.
        this.#channel.flush?.();
        this.#wakeHost();
        const stopAfter = this.#stopAfter;
        if (stopAfter !== undefined && this.#expected > stopAfter.dseq) {
          this.#stopAfter = undefined;
          stopAfter.resolve();
          return;
        }
        // Messages by pipe: after one, the next is likely another, which wakes the event loop
        // directly; a futex wait would add a wake-up before the pipe is even read (measured:
        // ~25 µs of an isolated message round trip).
        const messagesLikely = this.#channel.doorbellByMessage === true && this.#lastByMessage;
        if (blockingParkMs !== undefined && stopAfter === undefined && !messagesLikely) {
          // The whole wait, not what is left of the turn's budget: a wait cut to that is most
          // often shorter than a kernel tick (see BLOCKING_PARK_MS). A turn already owed comes
          // first; one that falls due during the wait comes right after it.
          const owed = now() - this.#lastTurn >= EVENT_LOOP_TURN_MS;
          // Not while the next delivery is on its way by message (CONTROL_POSTED): only the
          // event loop reads it. Woken by a frame: run it now. Woken otherwise (a message or a
          // control call, both of which ring) or timed out: the event loop must run.
          const ready = (): boolean => this.#submit.hasPending() || this.#postedReached();
          const readyAtOnce = ready();
          const outcome = owed ? 'timed-out' : this.#submitBell.park(ready, blockingParkMs);
          if (outcome !== 'timed-out' && this.#submit.hasPending()) continue;
          if (outcome !== 'timed-out' && !readyAtOnce && this.#messageDue()) {
            // Idle, and the host posted a message while this side spun or slept: wait for the
            // port itself. (Not when messages come back to back: a waitAsync park lets the
            // port hand over all it holds before the loop runs them; this wait would take
            // them one per task.)
            await this.#awaitPort();
            this.#lastTurn = now();
            this.#continueIn(runner, false);
            return;
          }
        }
        const parked = await this.#sleep(() => this.#submit.hasPending() || this.#fromPort.has(this.#expected) || this.#stopAfter !== undefined);
        // A real wait resolves in a task of its own: the event loop has had its turn.
        if (parked !== 'ready') this.#lastTurn = now();
        this.#continueIn(runner, false);
        return;
      }
      this.#expected += 1;
      this.#lastByMessage = !next.viaRing;
      // What earlier inputs produced leaves before plugin code runs again (it may hang).
      this.#channel.flush?.();
      // Publish, then check the fence (see CONTROL_FENCE): once the host has fenced this
      // generation, an input not yet started is never started here.
      if (this.#publishStart(next.dseq)) {
        // Fenced (the generation ended, or a stop revoked what was not started): a stop
        // waiting for the deliveries handed over waits for no more of them.
        this.#running = false;
        this.#fenced = true;
        this.#wakeHost();
        const stopAfter = this.#stopAfter;
        this.#stopAfter = undefined;
        stopAfter?.resolve();
        return;
      }
      const started = runner.startNow(next);
      // A callback that returned synchronously: one turn of the microtask queue, as awaiting
      // its value would take (see PluginRunner.startNow), then its outcome.
      const result = started === RAN_SYNC ? (await MICROTASK_TURN, runner.finishNow()) : await started;
      if (next.kind === 'frame') {
        // Released with this outcome, and poisoned now, before the plugin runs the next frame,
        // as inline: a slot (the host's release poisons it only once it reads the outcome) or
        // a copy made for this side, so a kept reference reads garbage in every transport.
        if (this.#launch.poisonReleased) next.data.fill(POISON_BYTE);
        if (!next.viaRing) {
          this.#heldFrameBytes -= next.data.byteLength;
          this.#channel.recycleFrameData?.(next.data);
        }
      }
      this.#settle(next, result);
      if (!result.ok && this.#launch.haltOnInputError) {
        // Policy: this input error ends the generation; start nothing more.
        this.#running = false;
        this.#wakeHost();
        return;
      }
    }
  }

  /** Publishes the start of `dseq`, then reads the fence; true when the host has fenced. */
  #publishStart(dseq: number): boolean {
    const startFence = this.#channel.startFence;
    if (startFence !== undefined) return startFence(dseq);
    Atomics.store(this.#control, CONTROL_STARTED, dseq);
    return Atomics.load(this.#control, CONTROL_FENCE) !== 0;
  }

  /**
   * After a wait on the event loop: the next stretch, in a fresh call, unless the session
   * stopped meanwhile. Synchronous, so nothing runs between the check and the call.
   */
  #continueIn(runner: PluginRunner, afterTurn: boolean): void {
    if (!this.#running) return;
    void this.#stretch(runner, afterTurn);
  }

  /**
   * Whether the next delivery is a message the host posted and the port has not brought yet.
   * Deliveries run in order, so nothing on the ring can run before it: the loop then waits
   * for the port itself ({@link #awaitPort}), not for a ring.
   */
  #messageDue(): boolean {
    return (
      this.#channel.doorbellByMessage !== true &&
      this.#stopAfter === undefined &&
      this.#postedReached() &&
      !this.#fromPort.has(this.#expected)
    );
  }

  /**
   * Waits for the port's next message (or a stop, or a wake): resolved directly by the
   * message handler, one task sooner than an `Atomics.waitAsync` the handler would end with a
   * notify. The park word stays "awake", so the host does not ring for frames meanwhile;
   * the loop drains them once the message is in.
   */
  #awaitPort(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#portWaiter = resolve;
    });
  }

  /** Parks on the event loop until the host rings (or a port message or control call arrives). */
  #sleep(isReady: () => boolean): Promise<ParkOutcome> {
    return this.#channel.doorbellByMessage === true ? this.#submitBell.parkUntilWoken(isReady) : this.#submitBell.parkAsync(isReady);
  }

  /** Ends this side's own park: something it waits for arrived on its event loop. */
  #wakeSelf(): void {
    const waiter = this.#portWaiter;
    if (waiter !== undefined) {
      this.#portWaiter = undefined;
      waiter();
      return;
    }
    if (this.#channel.doorbellByMessage === true) this.#submitBell.wakeParked();
    else this.#submitBell.ring();
  }

  #wakeHost(): void {
    if (this.#owed === 0) return;
    this.#owed = 0;
    this.#completeBell.ring();
  }

  /**
   * Pushes the outcome of an input that came on the ring onto the complete ring: `done` for
   * a frame, the result for a message when it fits a ring entry. False when it must go by
   * message (the ring is full, or the result does not fit).
   */
  #pushOutcome(seq: number, withValue: boolean, value: unknown): boolean {
    let kind = COMPLETE_DONE;
    const encoded = this.#value;
    encoded.tag = 0;
    encoded.number = 0;
    encoded.length = 0;
    if (withValue) {
      const area = this.#complete.reservePayload();
      if (area === undefined || !encodeRingValue(value, area, encoded)) return false;
      kind = COMPLETE_VALUE;
    }
    const desc = this.#desc;
    desc.length = encoded.length;
    desc.seq = seq;
    desc.kind = kind;
    desc.formatCode = encoded.tag;
    desc.timestamp = encoded.number;
    desc.aux = this.#posted;
    return this.#complete.tryPush(desc);
  }

  #settle(pending: Pending, result: DeliveryResult): void {
    const seq = pending.seq;
    if (result.ok && pending.viaRing) {
      if (this.#pushOutcome(seq, pending.kind === 'message', result.value)) {
        // Under load, one wake-up carries many outcomes: the host is rung when this side
        // is about to sleep, or every WAKE_BATCH outcomes.
        this.#owed += 1;
        if (this.#owed >= WAKE_BATCH) this.#wakeHost();
        return;
      }
    }
    if (result.ok) {
      try {
        this.#post({ t: 'outcome', seq, ok: true, value: pending.kind === 'message' ? result.value : undefined });
        return;
      } catch (error) {
        // The result cannot cross: that is the input's failure, as it is inline.
        this.#post({ t: 'outcome', seq, ok: false, error: crossingError(error), errorName: lostErrorName(error), errorCode: lostErrorCode(error) });
        return;
      }
    }
    const thrown = result.error;
    const { errorName, errorCode } = lostNameAndCode(thrown);
    try {
      this.#post({ t: 'outcome', seq, ok: false, error: crossingError(thrown), errorName, errorCode });
      return;
    } catch {
      // Something the error holds (its `cause`, say) cannot be cloned: the error still
      // crosses with its message, stack, name and code, as inline; only the cause is left.
    }
    try {
      this.#post({ t: 'outcome', seq, ok: false, error: crossingError(thrown, false), errorName, errorCode });
    } catch (error) {
      this.#post({ t: 'outcome', seq, ok: false, error: uncloneableFailure(seq, error), errorName: undefined, errorCode: undefined });
    }
  }
}

/**
 * What a thrown value crosses as. An Error structured cloning does not know as one — a
 * `DOMException` (an `AbortError`, a `DataCloneError` from `emit`), which clones to an empty
 * object — and one whose name cloning would lose, become a plain `Error` with its message,
 * stack and (`withCause`) cause; the name and code travel beside it (`errorName`,
 * `errorCode`). Anything else crosses as it is.
 */
function crossingError(error: unknown, withCause = true, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const hasCause = 'cause' in error;
  const name = isNativeError(error) ? readString(error, 'name') : undefined;
  const Native = name === undefined ? undefined : CLONED_ERRORS.get(name);
  // Cloned as it is, unless its cause must be rebuilt (or left, withCause false), or its
  // stack is not a string (the isolated host refuses such an Error: rebuilt, it crosses).
  if (Native !== undefined && !hasCause && stackIsPlain(error)) return error;
  // Kept as a TypeError, say, where cloning keeps it; any other name crosses as `errorName`.
  const crossing = new (Native ?? Error)(readString(error, 'message') ?? '');
  const stack = readString(error, 'stack');
  if (stack !== undefined) crossing.stack = stack;
  // A cause chain may loop (`e.cause = e`): a few links cross, as a plugin's chains go.
  if (withCause && hasCause && depth < MAX_CAUSE_DEPTH) crossing.cause = crossingError(error.cause, true, depth + 1);
  return crossing;
}

/**
 * The reply to a `start` or `stop` that threw: its message as `detail`, and what it threw (the
 * `cause` of the host's StartupFailed or TeardownFailed) as an outcome's error crosses — its
 * cause left out if the reply cannot carry it so, the value left out if it cannot carry that
 * at all. Checked before it is sent: a reply that cannot be sent (too large, uncloneable)
 * would leave the host's call without its answer, and one the isolated host's gate refuses
 * would cost the generation.
 */
function failedReply(posted: number, thrown: unknown, crosses: (reply: Extract<ControlReply, { ok: false }>) => boolean): ControlReply {
  const detail = thrownDetail(thrown);
  const { errorName, errorCode } = lostNameAndCode(thrown);
  for (const withCause of [true, false]) {
    let error: unknown;
    try {
      error = crossingError(thrown, withCause);
    } catch {
      break;
    }
    const reply = { ok: false as const, posted, detail, error, errorName, errorCode };
    if (crosses(reply)) return reply;
  }
  return { ok: false, posted, detail };
}

/** Whether a structured clone of `value` succeeds. */
function clones(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Whether `error.stack` is a string, or absent. */
function stackIsPlain(error: Error): boolean {
  try {
    const stack: unknown = error.stack;
    return stack === undefined ? !Object.hasOwn(error, 'stack') : typeof stack === 'string';
  } catch {
    return false;
  }
}

/** Links of a thrown error's `cause` chain that cross (see crossingError). */
const MAX_CAUSE_DEPTH = 8;

/** `error[key]` when it is a string; a getter that throws reads as undefined. */
function readString(error: Error, key: 'message' | 'stack' | 'name'): string | undefined {
  try {
    const value: unknown = error[key];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The errors structured cloning keeps as such, by name; any other arrives as `Error`. */
const CLONED_ERRORS: ReadonlyMap<string, ErrorConstructor> = new Map([
  ['Error', Error],
  ['EvalError', EvalError],
  ['RangeError', RangeError],
  ['ReferenceError', ReferenceError],
  ['SyntaxError', SyntaxError],
  ['TypeError', TypeError],
  ['URIError', URIError],
]);

/** The `code` of a thrown Error (cloning drops it): a bounded string or a safe integer. */
function lostErrorCode(error: unknown): string | number | undefined {
  if (!(error instanceof Error)) return undefined;
  let code: unknown;
  try {
    code = (error as { code?: unknown }).code;
  } catch {
    return undefined;
  }
  if (typeof code === 'string') return code.slice(0, GUEST_ERROR_NAME_MAX_LENGTH);
  return Number.isSafeInteger(code) ? (code as number) : undefined;
}

/** The name and code cloning would lose of a thrown value, to travel beside it. */
function lostNameAndCode(thrown: unknown): { readonly errorName: string | undefined; readonly errorCode: string | number | undefined } {
  try {
    return { errorName: lostErrorName(thrown), errorCode: lostErrorCode(thrown) };
  } catch {
    // A proxy whose traps throw: it crosses (or not) without them.
    return { errorName: undefined, errorCode: undefined };
  }
}

/** The `name` of a thrown Error that cloning would lose, bounded for the host's validator. */
function lostErrorName(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const name = readString(error, 'name');
  if (name === undefined || (isNativeError(error) && CLONED_ERRORS.has(name))) return undefined;
  return name.slice(0, GUEST_ERROR_NAME_MAX_LENGTH);
}
