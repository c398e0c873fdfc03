import { availableParallelism } from 'node:os';
import { SeqMap } from '../transport/SeqMap.js';
import { FifoQueue } from '../transport/FifoQueue.js';
import { PollGovernor } from '../transport/PollGovernor.js';
import { DescriptorRing, scratchDescriptor } from '../transport/DescriptorRing.js';
import type { MutableDescriptor } from '../transport/DescriptorRing.js';
import { Doorbell } from '../transport/Doorbell.js';
import { TurnBudget } from './TurnBudget.js';
import type { NotifyFn } from '../transport/Doorbell.js';
import type { SharedFramePool } from '../transport/SharedFramePool.js';
import type { SegmentLayout } from '../transport/segmentLayout.js';
import type { Delivery, DeliveryResult, DeliverySettle, GenerationSink } from './Adapter.js';
import {
  COMPLETE_DONE,
  COMPLETE_KINDS,
  COMPLETE_VALUE,
  CONTROL_EXTERNAL_MB,
  CONTROL_FENCE,
  CONTROL_HEAP_MB,
  CONTROL_HEARTBEAT,
  CONTROL_POSTED,
  CONTROL_STARTED,
  FORMAT_NAMED,
  INVALID_RING_VALUE,
  SUBMIT_FRAME,
  SUBMIT_KINDS,
  SUBMIT_MESSAGE,
  completeInPayload,
  decodeRingValue,
  encodeFormatName,
  encodeRingValue,
  formatCode,
  submitInPayload,
  submitWithExtra,
  GUEST_ERROR_NAME_MAX_LENGTH,
} from './protocol.js';
import type { RingValue } from './protocol.js';
import type { ControlReply, GuestToHost, HostToGuest } from './protocol.js';
import { DELIVERY_DONE, EVENT_LOOP_TURN_MS, GenerationFault } from './Adapter.js';
import { InvalidPlugin, messageOf } from '../errors.js';

/**
 * While deliveries are pending, how often the host wakes its own wait on the complete ring,
 * in ms. The park word is shared memory: a guest that clears it after the host parked is
 * never rung for, and its finished frames would stay unread for good (RELIABILITY E3). (A
 * timeout on every wait instead slowed the hot path measurably; one timer per generation
 * does not.)
 */
const PENDING_WAKE_MS = 50;
/**
 * Empty wake-ups in a row (a park that returned at once with nothing to drain) after which
 * the host waits a timer, not just a turn of the event loop, before parking again. An honest
 * guest rings only after publishing, so an empty wake-up is a rare race, never a run of them;
 * a guest holding the park word away from "parked" makes every park return at once.
 */
const EMPTY_WAKES_BEFORE_TIMER = 8;
/**
 * Ring capacities of outcomes read in one drain before the event loop gets a turn. A ring
 * holds at most one capacity, so a single full ring never costs the turn.
 */
const DRAIN_RINGS_PER_TURN = 2;

/**
 * How long, in µs, the host keeps looking at the complete ring through turns of its event loop
 * (`setImmediate`) before it parks, while inputs are in flight and the guest has been quick.
 * One input at a time, a polling guest starts the input at once and its outcome is there a
 * few µs later: seen on the next turn, it costs the host no wake-up (~10 µs from
 * `Atomics.waitAsync`, ~25 µs from a pipe doorbell) and the guest no doorbell. The event loop
 * keeps running meanwhile (timers, I/O, the application's callbacks); it only spends CPU.
 */
const POLL_MICROS = 50;
/**
 * Inputs in flight above which the loop parks at once: with many in flight the host is the
 * busy side, and one wake-up that drains a batch costs it less than turns that each find a
 * few (measured: pipelined throughput, 64 in flight, fell up to ~10 % with polling).
 */
const POLL_MAX_IN_FLIGHT = 4;
/**
 * With a core to spare and many inputs in flight, the submit ring is published at least every
 * this many inputs (a power of two), else once per turn of the microtask queue. Each
 * publication costs the host a SeqCst store to a line the guest reads; published once per
 * burst of up to 64, a guest that keeps up ran dry and parked meanwhile, and waking it cost
 * more (paired runs, 64 in flight: every 8 inputs, messages +4–17 %, frames −1…+8 %; every
 * burst alone, frames −11…−13 %).
 */
const PUBLISH_EVERY = 8;

/** What the host side of an out-of-thread generation is built from. */
export interface HostDataPlaneOptions {
  readonly generation: number;
  /** The instance's shared frame slots; undefined when frames can only be copied. */
  readonly pool: SharedFramePool | undefined;
  /** This generation's rings; undefined when the transport is copy-only. */
  readonly rings: { readonly buffer: SharedArrayBuffer; readonly layout: SegmentLayout } | undefined;
  /** The heartbeat/fence words the guest shares; undefined in copy-only transport. */
  readonly control: Int32Array | undefined;
  /**
   * Copy-only transport: the fence of a start record (StartRecordFile) in place of the control
   * words. Raises it and returns the last `dseq` the guest started, given that it started
   * every one up to `floor`. Undefined: the transport hands over one delivery at a time, and
   * a fence counts none as unstarted.
   */
  readonly startRecord?: { fence(floor: number): number } | undefined;
  /** Posts a data-plane message to the guest (copies synchronously). */
  readonly post: (message: HostToGuest) => void;
  /** How to wake a guest parked on the submit ring (default `Atomics.notify`). */
  readonly notifyGuest?: NotifyFn;
  /**
   * After messages were applied (see {@link HostDataPlane.receive}), with how many have been
   * applied so far and how many wait: the embedded guest's credit, the isolated pipe's resume.
   */
  readonly onApplied?: (received: number, backlog: number) => void;
  /**
   * The guest's doorbells arrive as messages (a pipe) and are reported through
   * {@link HostDataPlane.wake}: the loop then sleeps on a promise `wake` resolves directly,
   * without the extra turn of the event loop an `Atomics.waitAsync` costs.
   */
  readonly doorbellByMessage?: boolean;
  readonly sink: GenerationSink;
  readonly inputBudgetMs: number | undefined;
  /** ArrayBuffer/Buffer memory the guest may hold, in MiB (undefined: unbounded). */
  readonly maxArrayBufferMb: number | undefined;
  /** `limits.maxHeapMb`: what a reported heap is a share of (see heapShare). */
  readonly maxHeapMb: number | undefined;
  /** The guest went over a resource limit: the session must end the generation as lost/oom. */
  readonly onOverLimit: (detail: string) => void;
  /** The guest broke the ring protocol: the session must end the generation. */
  readonly onViolation: (detail: string) => void;
  /**
   * µs the loop polls the complete ring before it parks (see POLL_MICROS). Default: that,
   * when this process may run on more than one core, else 0 (on one core the guest needs
   * the core to answer).
   */
  readonly pollMicros?: number;
  /**
   * Control replies come on the same channel as data messages, after those posted before
   * them (the isolated pipe): a reply's count of them is then checked, not waited for.
   */
  readonly repliesInOrder?: boolean;
  /**
   * Gives up the rest of this thread's time slice (`sched_yield`, from the addon). Used only
   * when this process may run on one core: after ringing a parked guest, the host hands it
   * the core, so the guest runs the input (and pushes its outcome) before this side parks —
   * which then finds the outcome instead of sleeping and being woken by a doorbell — unless,
   * one input in flight, the wake-up itself already ran it. Undefined: the guest runs when this
   * side next sleeps.
   */
  readonly yieldCore?: (() => void) | undefined;
  /** Cores this process may run on (default `availableParallelism()`); tests set it. */
  readonly cores?: number;
  /** The poll's clock in ms (default `performance.now`); tests inject one. */
  readonly now?: () => number;
  /** The watchdog's period in ms (default PENDING_WAKE_MS); tests lengthen it. */
  readonly pendingWakeMs?: number;
}

/** Resolves on the next turn of the event loop (its check phase). */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    setImmediate(resolve);
  });
}

/** What a generation's fence found: deliveries done (but not yet reported) and never started. */
export interface FenceResult {
  readonly unstarted: readonly number[];
  /** Inputs the guest finished on the ring whose outcome had not been applied yet, by seq. */
  readonly completed: ReadonlyMap<number, DeliveryResult>;
}

/** A ring outcome waiting for the port messages posted before it. */
interface Blocked {
  readonly seq: number;
  /** Port messages the guest had posted before this outcome. */
  readonly aux: number;
  readonly result: DeliveryResult;
}

interface Waiting {
  readonly dseq: number;
  readonly settle: DeliverySettle;
  /** Bytes of a frame handed over by message, as a copy the guest now holds (else 0). */
  readonly copied: number;
}

/** Largest heap share a guest's report is taken for: a larger lie reads as this. */
const HEAP_SHARE_MAX = 2;

/**
 * The host's half of the data plane, shared by every out-of-thread adapter (worker or
 * child): numbering deliveries, pushing frames in shared slots as ring descriptors and
 * everything else as messages, applying outcomes in order behind their port-message
 * barrier, the fence on the guest's start word, and heartbeat sampling. The adapter owns
 * the guest's life; this class owns what flows while it lives.
 */
export class HostDataPlane {
  readonly #options: HostDataPlaneOptions;
  readonly #submit: DescriptorRing | undefined;
  readonly #complete: DescriptorRing | undefined;
  readonly #submitBell: Doorbell | undefined;
  readonly #completeBell: Doorbell | undefined;
  readonly #waiting = new SeqMap<Waiting>();
  /** Ring outcomes waiting for the port messages posted before them. */
  readonly #blocked: Blocked[] = [];
  /** Control replies waiting for the port messages posted before them. */
  readonly #barriers: { readonly count: number; readonly resolve: () => void }[] = [];
  #received = 0;
  /** Data-plane messages received, not applied yet (see receive). */
  readonly #inbox = new FifoQueue<GuestToHost>();
  #inboxScheduled = false;
  /** This side's share of the event loop's turn, for applying the inbox. */
  readonly #turn: TurnBudget;
  #dseq = 0;
  /** Bytes of the frames handed over by message and not settled (see IsolatedSession.hasRoom). */
  #copiedBytes = 0;
  #heartbeatSeen = -1;
  /** See heapShare. */
  #heapShare: number | undefined;
  #fenced: Map<number, DeliveryResult> | undefined;
  #closed = false;
  /** Inputs handed over on the submit ring, and outcomes read back on the complete ring. */
  #ringInputs = 0;
  #ringOutcomes = 0;
  /** Whether this process may run on more than one core (read once per generation). */
  readonly #ringAtOnce: boolean;
  /** On one core: hands the core to the guest just rung (see HostDataPlaneOptions.yieldCore). */
  readonly #yieldCore: (() => void) | undefined;
  /** How long the loop polls before it parks, in ms (0: never). */
  readonly #pollMs: number;
  /** Whether the loop polls before it parks: after waits that ended within the window, backing off after misses. */
  readonly #pollGovernor = new PollGovernor();
  readonly #now: () => number;
  #ringScheduled = false;
  /** The loop reading the complete ring (see {@link idle}). */
  #looping: Promise<void> = Promise.resolve();
  readonly #ringSubmit = (): void => {
    this.#ringScheduled = false;
    this.#submit?.publish();
    if (this.#submitBell?.ring() !== true || this.#yieldCore === undefined) return;
    // One input in flight: the wake-up itself usually hands the guest the core, and it runs
    // the input inside ring() (measured: ~6.5 µs there, the outcome then on the ring, and a
    // yield after it ~0.7 µs for nothing). Yield unless that outcome is here. With more in
    // flight, always: an outcome here may be one of several the guest has yet to finish.
    if (this.#waiting.size > 1 || this.#complete?.hasPending() !== true) this.#yieldCore();
    // The guest had the core: its outcome is most likely on the ring now. The loop, waiting
    // for the next input to be pushed (see #handedBack), drains it without a turn of the
    // event loop.
    const handedBack = this.#handedBack;
    this.#handedBack = undefined;
    handedBack?.();
  };
  /** One core: ends the loop's wait after a drain when the guest has had the core (see #afterDrain). */
  #handedBack: (() => void) | undefined;
  /** One core: whether a turn of the event loop is scheduled to end that wait otherwise. */
  #turnScheduled = false;
  /** When the loop last waited for a turn of the event loop it owed (ms of #now). */
  #lastTurnAt = 0;
  /** Scratch of {@link encodeRingValue}. */
  readonly #value: RingValue = { tag: 0, number: 0, length: 0 };
  /** Scratch of the submit ring's pushes (copied into shared memory by tryPush): no descriptor object per input. */
  readonly #desc: MutableDescriptor;

  constructor(options: HostDataPlaneOptions) {
    this.#options = options;
    this.#desc = scratchDescriptor(options.generation);
    this.#ringAtOnce = (options.cores ?? availableParallelism()) > 1;
    this.#now = options.now ?? (() => performance.now());
    this.#turn = new TurnBudget(this.#now);
    this.#yieldCore = this.#ringAtOnce ? undefined : options.yieldCore;
    this.#pollMs = (options.pollMicros ?? (this.#ringAtOnce ? POLL_MICROS : 0)) / 1000;
    const { rings, pool } = options;
    if (rings !== undefined && pool !== undefined) {
      DescriptorRing.initialize(rings.buffer, rings.layout.submit);
      DescriptorRing.initialize(rings.buffer, rings.layout.complete);
      this.#submit = new DescriptorRing(rings.buffer, rings.layout.submit, {
        role: 'producer',
        slots: pool.layout.slots,
        slotBytes: pool.layout.slotBytes,
        kindLimit: SUBMIT_KINDS,
        inPayload: submitInPayload,
        withExtra: submitWithExtra,
        // The guest's consumer counter out of range (RELIABILITY E1, E3) is a protocol
        // violation like any on the complete ring, not just a ring that takes no more
        // frames. Found inside deliver(): reported once that call has returned.
        onViolation: (violation) => {
          queueMicrotask(() => {
            if (this.#closed) return;
            this.#closed = true;
            options.onViolation(violation.detail);
          });
        },
      });
      this.#complete = new DescriptorRing(rings.buffer, rings.layout.complete, {
        role: 'consumer',
        slots: 1,
        slotBytes: 1,
        kindLimit: COMPLETE_KINDS,
        inPayload: completeInPayload,
        isSlotless: () => true,
        expectedGeneration: options.generation,
      });
      this.#submitBell = new Doorbell(rings.buffer, rings.layout.submit.consumerParkOffset, options.notifyGuest === undefined ? {} : { notify: options.notifyGuest });
      this.#completeBell = new Doorbell(rings.buffer, rings.layout.complete.consumerParkOffset);
      this.#looping = this.#loop();
    }
  }

  /**
   * Resolves once the loop reading the complete ring has returned (after {@link close}): from
   * then on this side reads the rings no more, and their memory can be given back — a read of a
   * page given back would map it again.
   */
  get idle(): Promise<void> {
    return this.#looping;
  }

  /** The last `dseq` handed to the guest. */
  get lastDseq(): number {
    return this.#dseq;
  }

  /** Bytes of the frames handed over by message and not settled yet. */
  get copiedBytes(): number {
    return this.#copiedBytes;
  }

  /** Deliveries handed over and not settled yet. */
  get pending(): number {
    return this.#waiting.size;
  }

  /**
   * Hands one delivery to the guest; `settle` is called when its outcome arrives. Throws,
   * having handed nothing over, when the delivery cannot be posted (e.g. too large to frame).
   */
  deliver(input: Delivery, settle: DeliverySettle): void {
    const dseq = this.#dseq + 1;
    if (input.kind === 'frame' ? this.#pushFrame(input, dseq) : this.#pushMessage(input, dseq)) {
      this.#dseq = dseq;
      this.#waiting.set(input.seq, { dseq, settle, copied: 0 });
      return;
    }
    // The guest runs deliveries in `dseq` order: the ring's go first, not a microtask later.
    this.#publishStaged();
    const control = this.#options.control;
    const posted = control === undefined ? 0 : Atomics.load(control, CONTROL_POSTED);
    if (control !== undefined) Atomics.store(control, CONTROL_POSTED, dseq);
    try {
      // A frame not in a shared slot (an overflow copy, an unlisted format, no shared
      // memory) goes as one copy by message, as every message does.
      this.#options.post(
        input.kind === 'frame'
          ? { t: 'frame', dseq, seq: input.seq, ...input.meta, data: input.data }
          : { t: 'message', dseq, seq: input.seq, message: input.message },
      );
    } catch (error) {
      // Nothing left: the guest must not wait for a dseq that never comes.
      if (control !== undefined) Atomics.store(control, CONTROL_POSTED, posted);
      throw error;
    }
    this.#dseq = dseq;
    const copied = input.kind === 'frame' ? input.data.byteLength : 0;
    this.#copiedBytes += copied;
    this.#waiting.set(input.seq, { dseq, settle, copied });
  }

  /**
   * Takes one data-plane message from the guest (already validated by the session) and
   * applies it — now, or on a later turn of the event loop once this turn has spent
   * EVENT_LOOP_TURN_MS applying messages: a port or a pipe hands over everything it has in
   * one go, and a guest's outputs taken by an application that works on each held the
   * host's timers off for seconds (600 outputs at 5 ms each: 3 s). Messages keep their order
   * meanwhile, and ring outcomes wait behind them (their port barrier).
   */
  receive(message: GuestToHost): void {
    if (this.#closed) return;
    this.#inbox.push(message);
    this.#applyInbox();
  }

  /** Messages received and not applied yet. */
  get backlog(): number {
    return this.#inbox.size;
  }

  /** Applies every message received, now (the guest has ended, or its generation is being fenced). */
  applyAll(): void {
    for (let message = this.#inbox.shift(); message !== undefined && !this.#closed; message = this.#inbox.shift()) this.#apply(message);
    this.#options.onApplied?.(this.#received, this.#inbox.size);
  }

  #applyInbox(): void {
    if (this.#inboxScheduled) return;
    this.#turn.begin();
    while (!this.#closed) {
      if (this.#turn.spent() >= EVENT_LOOP_TURN_MS) {
        this.#inboxScheduled = true;
        setImmediate(() => {
          this.#inboxScheduled = false;
          this.#applyInbox();
        });
        break;
      }
      const message = this.#inbox.shift();
      if (message === undefined) break;
      this.#apply(message);
    }
    this.#options.onApplied?.(this.#received, this.#inbox.size);
  }

  #apply(message: GuestToHost): void {
    const complete = this.#complete;
    if (complete !== undefined && complete.violation === undefined) {
      // Everything settles and arrives in the order the guest produced it, as inline. A
      // message (an output, a log, an outcome the ring could not carry) may overtake
      // outcomes still waiting on the ring for this side's next drain: the guest pushed them
      // before it posted this message, so they are on the ring now. Those settle first; any
      // pushed after it wait for it (their port barrier). Without this, an input's output
      // came before the outcome of the input before it in ~15 % of fast frames.
      this.#drainComplete(complete, complete.capacity);
      if (this.#closed) return;
    }
    this.#received += 1;
    const { sink } = this.#options;
    switch (message.t) {
      case 'output':
        sink.output(message.channel, message.value, message.inputSeq);
        break;
      case 'log':
        sink.log(message.level, message.message);
        break;
      case 'outcome':
        this.#settle(message.seq, message.ok ? { ok: true, value: message.value } : { ok: false, error: withName(message.error, message.errorName, message.errorCode) });
        break;
    }
    this.#applyBlocked();
    while (this.#barriers.length > 0 && (this.#barriers[0]?.count ?? Number.POSITIVE_INFINITY) <= this.#received) {
      this.#barriers.shift()?.resolve();
    }
  }

  /**
   * Resolves once `count` data-plane messages have arrived. Control replies overtake data
   * messages (separate channels): a reply carries the guest's count, so e.g. what `stop()`
   * emitted is delivered before the generation is fenced.
   */
  receivedAtLeast(count: number): Promise<void> {
    if (this.#received >= count) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#barriers.push({ count, resolve });
    });
  }

  /**
   * Settles a control call (`start`, `stop`): raced against the guest's death, then held
   * until every data message posted before the reply has arrived — a failed call too, so
   * what the plugin emitted before throwing is delivered first. Rejects with a
   * {@link GenerationFault}.
   */
  async control(call: () => Promise<ControlReply>, died: Promise<never>): Promise<void> {
    let reply: ControlReply;
    try {
      reply = await Promise.race([call(), died]);
    } catch (error) {
      if (error instanceof GenerationFault) throw error;
      throw new GenerationFault({ cause: 'threw', detail: messageOf(error) });
    }
    if (typeof reply !== 'object' || (reply as ControlReply | null) === null || !Number.isSafeInteger(reply.posted) || reply.posted < 0) {
      throw new GenerationFault({ cause: 'protocol', detail: 'the guest sent an invalid control reply' });
    }
    if (this.#options.repliesInOrder === true && reply.posted > this.#received + this.#inbox.size) {
      // Everything the guest posted before its reply came before it on the same channel: a
      // count beyond what has arrived is a lie, which would hold the call to its deadline.
      throw new GenerationFault({ cause: 'protocol', detail: `the guest's control reply counts ${reply.posted} messages posted before it, but ${this.#received + this.#inbox.size} came` });
    }
    await Promise.race([this.receivedAtLeast(reply.posted), died]);
    if (!reply.ok) {
      // What the plugin threw, its name and code put back (the isolated host's gate walked it
      // as plain data; a name or code out of bounds is left off, not trusted).
      const thrown = 'error' in reply ? runtimeClass(withName(reply.error, boundedString(reply.errorName), boundedCode(reply.errorCode))) : undefined;
      throw new GenerationFault({ cause: 'threw', detail: typeof reply.detail === 'string' ? reply.detail : 'failed' }, thrown);
    }
  }

  /** Wakes this side's own wait on the complete ring (a doorbell arrived by another way). */
  wake(): void {
    const bell = this.#completeBell;
    if (bell === undefined || bell.wakeParked()) return;
    if (this.#options.doorbellByMessage !== true) bell.wakeLocal();
  }

  /** Wakes the guest parked on the submit ring, if it said it is parked. */
  ringGuest(): void {
    this.#submitBell?.ring();
  }

  /**
   * After a message: wakes the guest only if it sleeps in a blocking wait, where no message
   * reaches it; one parked on its event loop is woken by the message itself.
   */
  ringGuestForMessage(): void {
    this.#submitBell?.ringIfBlocking();
  }

  /**
   * Raises the fence and accounts for every delivery still pending: those the guest
   * finished (outcomes it pushed but had not rung for yet) and those it never started.
   */
  fence(): FenceResult {
    // Outcomes the guest posted before the end are outcomes, not inputs lost.
    this.applyAll();
    const control = this.#options.control;
    const completed = new Map<number, DeliveryResult>();
    if (control === undefined) return { unstarted: this.#unstartedByRecord(), completed };
    Atomics.store(control, CONTROL_FENCE, 1);
    // The guest rings per batch: outcomes already on the ring are done, not lost.
    this.#fenced = completed;
    // Bounded like every drain: at most one outcome per pending delivery is honest.
    const complete = this.#complete;
    if (complete !== undefined && complete.violation === undefined) this.#drainComplete(complete, this.#waiting.size + complete.capacity);
    for (const blocked of this.#blocked.splice(0)) this.#settle(blocked.seq, blocked.result);
    this.#fenced = undefined;
    // Untrusted in isolated mode: a lie only changes which of the guest's own inputs are retried.
    return { unstarted: this.#pendingAfter(Atomics.load(control, CONTROL_STARTED)), completed };
  }

  /**
   * At a stop: raises the fence, so the guest starts nothing more, and forgets the
   * deliveries it never started; returns their `seq`. Those it started settle as usual.
   */
  revokeUnstarted(): number[] {
    const control = this.#options.control;
    let unstarted: number[];
    if (control === undefined) {
      try {
        unstarted = this.#unstartedByRecord();
      } catch {
        // The record is gone (the child is): nothing is revoked, the generation's end decides.
        return [];
      }
    } else {
      Atomics.store(control, CONTROL_FENCE, 1);
      // Untrusted in isolated mode: a lie only changes which of the guest's own inputs run.
      unstarted = this.#pendingAfter(Atomics.load(control, CONTROL_STARTED));
    }
    for (const seq of unstarted) this.#forget(seq);
    return unstarted;
  }

  /**
   * Without shared memory every outcome came by message, so nothing is left to drain: the
   * start record alone tells which pending deliveries the guest never started. Every
   * delivery before the oldest pending one settled, so was started.
   */
  #unstartedByRecord(): number[] {
    const record = this.#options.startRecord;
    let oldest = Number.POSITIVE_INFINITY;
    for (const waiting of this.#waiting.values()) oldest = Math.min(oldest, waiting.dseq);
    if (record === undefined || oldest === Number.POSITIVE_INFINITY) return [];
    // Untrusted in isolated mode: a lie only changes which of the guest's own inputs are retried.
    return this.#pendingAfter(record.fence(oldest - 1));
  }

  /** The `seq` of pending deliveries after `started` (the last `dseq` the guest started). */
  #pendingAfter(started: number): number[] {
    const unstarted: number[] = [];
    // As int32, the shared word's width: delivery numbers pass 2^31 in a long generation (a
    // plain comparison then counted the running input as never started).
    for (const [seq, waiting] of this.#waiting) if (((waiting.dseq - started) | 0) > 0) unstarted.push(seq);
    return unstarted;
  }

  /**
   * Samples the guest's heartbeat counter; reports life when it moved, or while an input
   * inside its declared budget is in progress (the runtime's input budget watches that).
   */
  sampleHeartbeat(): void {
    const control = this.#options.control;
    if (control !== undefined && !this.checkExternalMemory(Atomics.load(control, CONTROL_EXTERNAL_MB))) return;
    const seen = control === undefined ? this.#heartbeatSeen : Atomics.load(control, CONTROL_HEARTBEAT);
    const busyWithinBudget = this.#options.inputBudgetMs !== undefined && this.#waiting.size > 0;
    if (seen !== this.#heartbeatSeen || busyWithinBudget) {
      this.#heartbeatSeen = seen;
      if (control !== undefined) this.noteHeap(Atomics.load(control, CONTROL_HEAP_MB));
      this.#options.sink.heartbeat(this.heapShare);
    }
  }

  /**
   * The guest's heap as a share of `limits.maxHeapMb`, as it last reported it (see noteHeap);
   * what every heartbeat carries, whoever sends it.
   */
  get heapShare(): number | undefined {
    return this.#heapShare;
  }

  /**
   * Takes the guest's reported heap (MiB of its old generation, what `maxHeapMb` bounds:
   * CONTROL_HEAP_MB, or a copy-transport heartbeat's); undefined without that limit or for a
   * value no heap has. Untrusted in isolated mode: a lie only mislabels the guest's own missed
   * heartbeat (capped, so its detail stays readable).
   */
  noteHeap(usedMb: number): void {
    const limit = this.#options.maxHeapMb;
    this.#heapShare = limit === undefined || !Number.isSafeInteger(usedMb) || usedMb < 0 ? undefined : Math.min(usedMb / limit, HEAP_SHARE_MAX);
  }

  /**
   * Checks the ArrayBuffer/Buffer memory the guest reports holding (MiB; from the shared
   * control words, or a copy-transport heartbeat) against `limits.maxArrayBufferMb`; false,
   * having reported it over the limit (once), when it is.
   */
  checkExternalMemory(usedMb: number): boolean {
    const limit = this.#options.maxArrayBufferMb;
    // The guest's figure leaves out the frames it holds for the runtime (GuestSession.pluginMemoryMb).
    if (limit === undefined || this.#closed || usedMb <= limit) return true;
    this.#closed = true;
    this.#options.onOverLimit(`the plugin holds ${usedMb} MiB of ArrayBuffer/Buffer memory, above limits.maxArrayBufferMb (${limit})`);
    return false;
  }

  /** Stops the loop; nothing more is applied. */
  close(): void {
    this.#closed = true;
    this.wake();
  }

  #pushFrame(input: Extract<Delivery, { kind: 'frame' }>, dseq: number): boolean {
    const pool = this.#options.pool;
    if (pool === undefined || this.#submit === undefined) return false;
    const slot = pool.slotOf(input.data);
    if (slot === undefined) return false;
    let code = formatCode(input.meta.format);
    let extra = 0;
    if (code === undefined) {
      // A format without a code: its name in the entry (the frame stays in its slot).
      const area = this.#submit.reservePayload();
      const written = area === undefined ? undefined : encodeFormatName(input.meta.format, area);
      if (written === undefined) return false;
      code = FORMAT_NAMED;
      extra = written;
    }
    const desc = this.#desc;
    desc.slot = slot;
    desc.length = input.data.length;
    desc.seq = input.seq;
    desc.kind = SUBMIT_FRAME;
    desc.width = input.meta.width;
    desc.height = input.meta.height;
    desc.formatCode = code;
    desc.timestamp = input.meta.timestamp;
    desc.aux = dseq;
    desc.extra = extra;
    const staged = this.#submit.stage(desc);
    desc.extra = 0;
    if (!staged) return false;
    this.#pushed();
    return true;
  }

  /** A message whose value fits a ring entry goes on the submit ring, like a frame. */
  #pushMessage(input: Extract<Delivery, { kind: 'message' }>, dseq: number): boolean {
    const submit = this.#submit;
    const area = submit?.reservePayload();
    if (submit === undefined || area === undefined) return false;
    const value = this.#value;
    if (!encodeRingValue(input.message, area, value)) return false;
    const desc = this.#desc;
    desc.slot = 0;
    desc.length = value.length;
    desc.seq = input.seq;
    desc.kind = SUBMIT_MESSAGE;
    desc.width = 0;
    desc.height = 0;
    desc.formatCode = value.tag;
    desc.timestamp = value.number;
    desc.aux = dseq;
    if (!submit.stage(desc)) return false;
    this.#pushed();
    return true;
  }

  /**
   * Counts an input staged on the submit ring; publishes it and wakes the guest for it now,
   * or with every input staged in this turn of the microtask queue (#ringSubmit): one
   * publication per burst, not per input (see DescriptorRing.stage).
   */
  #pushed(): void {
    this.#ringInputs += 1;
    if (
      this.#ringAtOnce &&
      (this.#ringInputs % PUBLISH_EVERY === 0 || this.#waiting.size < POLL_MAX_IN_FLIGHT || this.#submitBell?.isParked === true)
    ) {
      // With a core to spare, a parked guest's wake-up (the longest step of a round trip)
      // starts now, and with few inputs in flight each one goes at once: latency matters
      // there, not the store. A busy guest costs a load here.
      this.#submit?.publish();
      this.#submitBell?.ring();
      return;
    }
    if (!this.#ringScheduled) {
      // On one core a woken guest takes the core from this thread at once, so a doorbell per
      // input would be a pair of context switches per input: ring once per burst instead.
      this.#ringScheduled = true;
      queueMicrotask(this.#ringSubmit);
    }
  }

  /** Publishes what is staged on the submit ring: before a message that follows it in `dseq` order. */
  #publishStaged(): void {
    if (this.#submit?.hasStaged !== true) return;
    this.#submit.publish();
    this.#submitBell?.ring();
  }

  #settle(seq: number, result: DeliveryResult): void {
    const waiting = this.#waiting.get(seq);
    if (waiting === undefined) {
      // A reply to nothing pending (RELIABILITY D4): at most one settlement per input.
      this.#options.sink.stale();
      return;
    }
    this.#copiedBytes -= waiting.copied;
    this.#waiting.delete(seq);
    // While fencing, the runtime collects completions synchronously (see fence()).
    if (this.#fenced !== undefined) {
      this.#fenced.set(seq, result);
      return;
    }
    try {
      waiting.settle(seq, result);
    } catch (error) {
      // The runtime's own code threw: a host bug, not the guest's doing. Surface it as such,
      // outside the ring drain or the pipe reader (where it would pass for a guest's fault).
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** Drops a pending delivery (settled or revoked). */
  #forget(seq: number): void {
    const waiting = this.#waiting.get(seq);
    if (waiting === undefined) return;
    this.#copiedBytes -= waiting.copied;
    this.#waiting.delete(seq);
  }

  #applyBlocked(): void {
    while (this.#blocked.length > 0) {
      const head = this.#blocked[0];
      if (head === undefined || head.aux > this.#received) return;
      this.#blocked.shift();
      this.#settle(head.seq, head.result);
    }
  }

  /** Applies up to `max` descriptors the guest pushed on the complete ring; returns how many. */
  #drainComplete(complete: DescriptorRing, max: number): number {
    let refused: string | undefined;
    const drained = complete.drain(max, (d, payload) => {
      if (refused !== undefined) return;
      // One outcome per input handed over on the ring: any more (e.g. a guest refilling the
      // ring with outcomes for inputs never sent) is a protocol violation, not a stream of
      // stale replies the host would keep reading for as long as the guest writes them.
      if (++this.#ringOutcomes > this.#ringInputs) {
        refused = `an outcome for input ${d.seq}, beyond the ${this.#ringInputs} inputs handed over on the ring`;
        return;
      }
      let result: DeliveryResult = DELIVERY_DONE;
      if (d.kind === COMPLETE_VALUE) {
        const value = decodeRingValue(d.formatCode, d.timestamp, payload, d.length);
        if (value === INVALID_RING_VALUE) {
          refused = `the result of input ${d.seq} has value tag ${d.formatCode}, which names no value`;
          return;
        }
        result = { ok: true, value };
      } else if (d.kind !== COMPLETE_DONE) return;
      if (this.#blocked.length > 0 || d.aux > this.#received) this.#blocked.push({ seq: d.seq, aux: d.aux, result });
      else this.#settle(d.seq, result);
    });
    const violation = complete.violation;
    if (violation !== undefined) {
      this.#closed = true;
      this.#options.onViolation(violation.detail);
    } else if (refused !== undefined && !this.#closed) {
      this.#closed = true;
      this.#options.onViolation(`ring: ${refused}`);
    }
    return drained;
  }

  /**
   * Turns of the event loop until `isReady` holds ('caught'), or the poll window from `from`
   * passed ('missed'), or nothing or more than POLL_MAX_IN_FLIGHT inputs are in flight
   * ('gave-way': park instead). In flight is counted after each turn: the application's
   * reactions to the last outcomes (however many promise hops away, e.g. an `await
   * acquire()` before the next frame) have run by then.
   */
  async #poll(isReady: () => boolean, from: number): Promise<'caught' | 'missed' | 'gave-way'> {
    const deadline = from + this.#pollMs;
    for (;;) {
      await nextTurn();
      const inFlight = this.#waiting.size;
      if (inFlight === 0 || inFlight > POLL_MAX_IN_FLIGHT) return 'gave-way';
      if (isReady()) return 'caught';
      if (this.#now() >= deadline) return 'missed';
    }
  }

  /**
   * One core, after a drain: resolves once the guest was rung for a new input and had the
   * core (#ringSubmit), so its outcome is read in the same chain of microtasks — or on the
   * next turn of the event loop, if no input came. A round trip then costs no turn of the
   * event loop (measured: one `epoll_pwait` per trip before). A real turn still comes at
   * least every EVENT_LOOP_TURN_MS: outcomes that keep setting off inputs must not hold the
   * host's timers and I/O off — nor can a guest that keeps its park flag raised to be rung
   * (and handed the core) at every push.
   */
  #afterDrain(): Promise<void> {
    const now = this.#now();
    if (now - this.#lastTurnAt >= EVENT_LOOP_TURN_MS) {
      this.#lastTurnAt = now;
      return nextTurn();
    }
    return new Promise<void>((resolve) => {
      this.#handedBack = resolve;
      if (this.#turnScheduled) return;
      this.#turnScheduled = true;
      setImmediate(() => {
        this.#turnScheduled = false;
        this.#lastTurnAt = this.#now();
        const handedBack = this.#handedBack;
        this.#handedBack = undefined;
        handedBack?.();
      });
    });
  }

  /**
   * Drains the complete ring, parks until the guest rings, repeats. The park word is shared
   * memory the guest can write (RELIABILITY E3), so neither way it can lie may cost the host:
   * - held away from "parked", it makes every park return at once, and this loop — a chain
   *   of microtasks — would starve the host's event loop for good: a wake-up that brings
   *   nothing to drain yields a macrotask (a timer, once they come in a row);
   * - cleared after the host parked, the guest never rings, and finished frames would wait
   *   for ever: while deliveries are pending, a watchdog wakes the wait every PENDING_WAKE_MS.
   */
  async #loop(): Promise<void> {
    const complete = this.#complete;
    const bell = this.#completeBell;
    if (complete === undefined || bell === undefined) return;
    const watchdog = setInterval(() => {
      if (this.#waiting.size > 0) this.wake();
    }, this.#options.pendingWakeMs ?? PENDING_WAKE_MS);
    watchdog.unref();
    let empty = 0;
    try {
      while (!this.#closed) {
        const drained = this.#drainComplete(complete, DRAIN_RINGS_PER_TURN * complete.capacity);
        if (this.#closed) return;
        if (drained >= DRAIN_RINGS_PER_TURN * complete.capacity) {
          // Outcomes kept coming while they were read (an application that feeds the next
          // frame from each outcome, synchronously, and a guest as fast): the event loop
          // turns before the next drain, so the host's timers and I/O are never held off.
          await nextTurn();
          continue;
        }
        if (drained > 0) {
          // What the outcomes set off (an application feeding the next input from the last
          // outcome) runs before this side parks: setting up the wait is off that path. On one
          // core with a yield, all of it, however many promise hops away: the next input is
          // pushed, the guest rung and handed the core, and its outcome is then on the ring
          // before this side would park.
          await (this.#yieldCore === undefined ? Promise.resolve() : this.#afterDrain());
        }
        const isReady = (): boolean => this.#closed || complete.hasPending();
        // Read only where it is used: with polling off (one core, where #afterDrain keeps the
        // turns) a park costs no clock read.
        const waitedFrom = this.#pollMs > 0 || this.#yieldCore === undefined ? this.#now() : 0;
        if (this.#yieldCore === undefined && waitedFrom - this.#lastTurnAt >= EVENT_LOOP_TURN_MS) {
          // A real turn at least every EVENT_LOOP_TURN_MS, as #afterDrain gives on one core:
          // while a guest keeps up with an application that works on each outcome, every park
          // finds an outcome ready, and the loop would stay one chain of microtasks (measured:
          // a 1 ms interval timer held off ~450 ms, 64 messages in flight, 5 µs of work per
          // outcome). Timed by the clock the poll reads anyway.
          this.#lastTurnAt = waitedFrom;
          await nextTurn();
          continue;
        }
        const governor = this.#pollGovernor;
        let missed = false;
        if (this.#pollMs > 0 && this.#waiting.size <= POLL_MAX_IN_FLIGHT && governor.next()) {
          const poll = await this.#poll(isReady, waitedFrom);
          if (poll === 'caught') {
            governor.caught();
            continue;
          }
          if (poll === 'missed') {
            governor.missed();
            missed = true;
          }
        }
        // Doorbells by message end the park through wake(); otherwise Atomics.notify does.
        await (this.#options.doorbellByMessage === true ? bell.parkUntilWoken(isReady) : bell.parkAsync(isReady));
        if (this.#closed || complete.hasPending()) {
          // Outcomes within the window: worth polling for the next ones (after a miss, the
          // governor's back-off decides instead).
          if (this.#pollMs > 0 && !missed) governor.waited(this.#now() - waitedFrom <= this.#pollMs);
          empty = 0;
          continue;
        }
        // A wake-up with nothing to read never earns a poll (a guest could ring at will).
        if (this.#pollMs > 0) governor.waited(false);
        empty += 1;
        await new Promise<void>((resolve) => {
          if (empty > EMPTY_WAKES_BEFORE_TIMER) setTimeout(resolve, 1);
          else setImmediate(resolve);
        });
      }
    } finally {
      clearInterval(watchdog);
    }
  }
}

/** A guest's `errorName` when it is a string within GUEST_ERROR_NAME_MAX_LENGTH. */
function boundedString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= GUEST_ERROR_NAME_MAX_LENGTH ? value : undefined;
}

/** A guest's `errorCode` when it is a bounded string or a safe integer. */
function boundedCode(value: unknown): string | number | undefined {
  return Number.isSafeInteger(value) ? (value as number) : boundedString(value);
}

/**
 * Puts back the `name` and `code` of a thrown Error that cloning lost (see `outcome.errorName`,
 * `outcome.errorCode`), so an input failure reads `MyError: …` and its `code` ('ENOENT', say)
 * can be branched on in every mode, as inline.
 */
function withName(error: unknown, name: string | undefined, code: string | number | undefined): unknown {
  if (!(error instanceof Error)) return error;
  if (name !== undefined) Object.defineProperty(error, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  if (code !== undefined) Object.defineProperty(error, 'code', { value: code, writable: true, configurable: true, enumerable: true });
  return error;
}

/**
 * The runtime's own refusal of a module, made in the guest by its start (`InvalidPlugin`),
 * as the class it is inline: `cause instanceof InvalidPlugin` then holds in every mode (its
 * message, stack and cause kept). Only for control replies: an input's error of that name is
 * the plugin's own.
 */
function runtimeClass(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== 'InvalidPlugin' || (error as { code?: unknown }).code !== 'ERR_INVALID_PLUGIN') return error;
  const invalid = new InvalidPlugin(error.message, 'cause' in error ? { cause: error.cause } : {});
  if (typeof error.stack === 'string') invalid.stack = error.stack;
  return invalid;
}
