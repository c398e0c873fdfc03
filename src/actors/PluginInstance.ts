import { Observable, Subject } from 'rxjs';
import type { Actor, InspectionEvent } from 'xstate';
import type { RuntimeClock } from './RuntimeClock.js';
import { createActor } from 'xstate';
import type { Adapter, Delivery, DeliveryResult, DeliverySettle, FrameMetadata, GenerationSession, TransportKind } from '../adapters/Adapter.js';
import { copyValueFor } from '../adapters/copyValue.js';
import {
  InputDropped,
  InputFailed,
  InputRefused,
  InvalidState,
  LostWhileRunning,
  PluginSeamError,
  RestartBudgetExhausted,
  RuntimeShutDown,
  StartCancelled,
  StartupFailed,
  TeardownFailed,
  messageOf,
} from '../errors.js';
import type { Failure, GenerationReport, LifecycleState, Mode } from '../machines/lifecycleTypes.js';
import { lifecycleStateOf, pluginLifecycleMachine } from '../machines/pluginLifecycleMachine.js';
import type { PluginLifecycleSnapshot } from '../machines/pluginLifecycleMachine.js';
import type { FramePool } from '../transport/FramePool.js';
import type { ResolvedLoadOptions } from './LoadOptions.js';
import { createGenerationLogic } from './generationActor.js';
import { createTimerLogic } from './timerActor.js';
import type { FrameInput, FrameOutcome, FrameSlot, LedgerCounters, PluginLog, PluginOutput, PluginStatus } from './instanceTypes.js';
import { plainBytes } from './plainBytes.js';
import { frameFieldsProblem } from './frameFieldsProblem.js';
import { isAbortSignal } from './isAbortSignal.js';
import { sameStatus } from './sameStatus.js';
import { SeqMap } from '../transport/SeqMap.js';
import { FifoQueue } from '../transport/FifoQueue.js';

/** What #captured holds between two `send` calls. */
const NOOP = (): void => undefined;

/** How one accepted input ends. */
type Outcome =
  | { readonly kind: 'done'; readonly generation: number; readonly value?: unknown }
  | { readonly kind: 'failed'; readonly generation: number; readonly error: unknown }
  | { readonly kind: 'dropped'; readonly generation: number; readonly reason: string }
  | { readonly kind: 'lost'; readonly generation: number; readonly failure: Failure | undefined; readonly reason: string };

interface Entry {
  readonly seq: number;
  /** What the generation is handed (a frame's copy may move into a slot while it waits: see #moveIntoPool). */
  delivery: Delivery;
  /** The pooled buffer of a frame, released (or discarded) when the entry settles. */
  buffer: Uint8Array | undefined;
  /** How a message's caller hears of it (its promise's two functions, no closure per message); frames use `onFrame` instead. */
  readonly resolve: ((value: unknown) => void) | undefined;
  readonly reject: ((error: unknown) => void) | undefined;
  /** How a frame's stream hears of it (one function per `connect()`, shared by its frames). */
  readonly onFrame: ((outcome: FrameOutcome) => void) | undefined;
  /** While in flight: the generation it was handed to, and its input-budget timer. */
  generation: number;
  timer: unknown;
  /** A frame in flight as a copy outside the pool (every slot was taken): its bytes, else 0. */
  copyBytes: number;
}

/** A queued frame (drop-oldest drops the frame nearest the front; messages are never dropped). */
function isFrameEntry(entry: Entry): boolean {
  return entry.delivery.kind === 'frame';
}

interface Attached {
  readonly generation: number;
  readonly session: GenerationSession;
  /** Settles this generation's deliveries: one function per generation, not per input. */
  readonly settle: DeliverySettle;
  /** Inputs handed over and not settled, at most (see #attach). */
  readonly maxInFlight: number;
  ready: boolean;
  alive: boolean;
}

type MutableCounters = { -readonly [K in keyof LedgerCounters]: LedgerCounters[K] };

/** Options the runtime passes to every instance it creates. */
export interface InstanceEnvironment {
  readonly adapter: Adapter;
  /** Deadlines: the lifecycle's and the input budgets. */
  readonly clock: RuntimeClock;
  /** Periods: backoff, restart windows, the stable reset (see createTimerLogic). */
  readonly wallClock: RuntimeClock;
  /** The application's observer, guarded (see guardInspect). */
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  readonly seed: number;
}

/** An event sent to the lifecycle machine, and the snapshot it was sent from. */
interface SentEvent {
  readonly before: PluginLifecycleSnapshot;
  /** The machine did not take it at once (sent from within its own processing). */
  readonly deferred: boolean;
}

/**
 * Every slot any instance handed out by `acquire()`, and why it is no longer the
 * application's (undefined while it is): one instance knows another's when it is handed it,
 * and a slot handed over twice, after its release, or once its instance ended is refused —
 * its bytes may be another frame's by then, or its memory closed.
 */
const ISSUED_SLOTS = new WeakMap<object, () => string | undefined>();
/**
 * What `frames.maxQueuedBytes` counts for each waiting frame besides its bytes: the host's
 * bookkeeping of it (its entry, metadata, view and outcome callback; ~420 bytes of heap
 * measured per 1-byte frame).
 */
const FRAME_BOOKKEEPING_BYTES = 512;

const ACCEPTING: ReadonlySet<LifecycleState> = new Set(['loaded', 'starting', 'started', 'running', 'failed']);

/**
 * One loaded plugin: its lifecycle actor, its input ledger, and its delivery streams. A
 * restart keeps the same instance (same id, same subscriptions); only the generation changes.
 *
 * @example
 * ```ts
 * const p = runtime.load({ id: 'edges', module: './edge-detector.js', mode: 'embedded' });
 * p.status$.subscribe((s) => console.log(s.state, s.generation));
 * p.outputs$.subscribe((o) => console.log(o.channel, o.value));
 * await p.start();
 * await p.run();
 * p.connect(frames$).subscribe((outcome) => console.log(outcome.seq, outcome.kind));
 * const reply = await p.send({ kind: 'reset' });
 * await p.stop();
 * ```
 */
export class PluginInstance {
  /** The instance id given to `load`. */
  readonly id: string;
  /** Where this instance's plugin executes. */
  readonly mode: Mode;
  /** The XState actor of this instance (inspectable with the Stately inspector). */
  readonly actor: Actor<typeof pluginLifecycleMachine>;
  /** The current status, replayed to each new subscriber, then every change. */
  readonly status$: Observable<PluginStatus>;
  /** Every value the plugin emits, in emission order, from the current generation only. */
  readonly outputs$: Observable<PluginOutput>;
  /** The plugin's log lines, from the current generation only. */
  readonly logs$: Observable<PluginLog>;

  readonly #options: ResolvedLoadOptions;
  readonly #env: InstanceEnvironment;
  /** Status changes; `status$` prepends the current status for each subscriber. */
  readonly #status = new Subject<PluginStatus>();
  readonly #outputs = new Subject<PluginOutput>();
  readonly #logs = new Subject<PluginLog>();
  readonly #pool: FramePool;
  /** Accepted inputs waiting for room in flight (a FifoQueue: a burst may queue thousands). */
  readonly #queue = new FifoQueue<Entry>();
  readonly #inFlight = new SeqMap<Entry>();
  /** Slots handed out by `acquire()` and not yet submitted or released. */
  readonly #slots = new WeakMap<object, Uint8Array>();
  readonly #counters: MutableCounters = {
    accepted: 0,
    done: 0,
    failed: 0,
    dropped: 0,
    lost: 0,
    queued: 0,
    inFlight: 0,
    refused: 0,
    outputs: 0,
    stale: 0,
  };
  #attached: Attached | undefined;
  readonly #lingering: Failure[] = [];
  #transport: TransportKind;
  #queuedFrames = 0;
  /** Bytes of the frames waiting in the queue (bounded by `frames.maxQueuedBytes`). */
  #queuedBytes = 0;
  /** Frames in flight as copies outside the pool, and their bytes (see #countCopy). */
  #inFlightCopies = 0;
  #inFlightCopyBytes = 0;
  /** The data of the frame #readFrame last accepted, taken by #submitFrame at once. */
  #frameData: Uint8Array | undefined;
  #queuedMessages = 0;
  #nextSeq = 1;
  #outputSeq = 0;
  #state: LifecycleState = 'loaded';
  /** Whether the state takes inputs (ACCEPTING and not terminally failed), cached per transition for the input path. */
  #accepting = true;
  #terminal = false;
  #statusScheduled = false;
  /** What the plugin's start or stop threw, last: the `cause` of the error that reports it. */
  #thrown: { readonly generation: number; readonly thrown: unknown } | undefined;
  #disposed = false;
  /** The runtime is ending this instance (unload or shutdown): no start or run any more. */
  #retiring = false;
  /** Bumped by every run() and every pause() that only redirects: a run() sees a later pause(). */
  #runIntent = 0;
  /**
   * Times the instance entered `running`: a run() whose own send took it there and beyond (a
   * status callback pausing or stopping it as it came) resolves — it took effect.
   */
  #runningEntered = 0;
  /** Why the instance ended for good: `runtime.unload()` or the runtime's shutdown. */
  #disposedBy: 'unload' | 'shutdown' = 'shutdown';
  /** The in-flight input whose `timeouts.input` budget is running (see #handOver). */
  #budgeted: Entry | undefined;
  /** In flight, revoked by a stop before the guest started them: dropped once those before them settle. */
  readonly #revoked = new Set<number>();
  /** Queued inputs a stop took, dropped (`stopped`) right after the revoked ones. */
  readonly #stopQueue: Entry[] = [];
  /**
   * Settles the in-flight inputs of the generation that just ended (lost) and those a stop
   * revoked, once its failure is on record; undefined when none is due. Outcomes keep
   * submission order: it runs before the queue behind them is dropped.
   */
  #orphansDue: (() => void) | undefined;
  /** Ends each live connect() at shutdown. */
  readonly #connections = new Set<() => void>();

  /** @internal Created by `runtime.load`: applications never construct an instance. */
  static create(options: ResolvedLoadOptions, env: InstanceEnvironment): PluginInstance {
    return new PluginInstance(options, env);
  }

  private constructor(options: ResolvedLoadOptions, env: InstanceEnvironment) {
    this.id = options.id;
    this.mode = options.mode;
    this.#options = options;
    this.#env = env;
    this.#pool = env.adapter.createFramePool({
      slots: options.frames.slots,
      slotBytes: options.frames.maxFrameBytes,
      poisonReleased: options.frames.poisonReleased,
    });
    // What the first generation will use, shown before it starts; each generation confirms it.
    this.#transport = env.adapter.transportOf(this.#pool);
    try {
      const machine = pluginLifecycleMachine.provide({
        actors: {
          generation: createGenerationLogic({
            launch: (generation, report) => this.#launch(generation, report),
            detach: (generation) => {
              this.#detach(generation);
            },
            threw: (generation, thrown) => {
              this.#thrown = { generation, thrown };
            },
          }),
          timer: createTimerLogic(env.wallClock),
        },
      });
      this.actor = createActor(machine, {
        id: `plugin:${options.id}`,
        systemId: `plugin:${options.id}`,
        input: {
          id: options.id,
          mode: options.mode,
          timeouts: { start: options.timeouts.start, stop: options.timeouts.stop, heartbeat: options.timeouts.heartbeat },
          supervision: options.supervision,
          seed: env.seed,
        },
        clock: env.clock,
        ...(env.inspect === undefined ? {} : { inspect: env.inspect }),
      });
      // Built on demand: the current status for each new subscriber, then every change. No
      // status object is built while nobody listens (the hot path publishes per batch).
      this.status$ = new Observable<PluginStatus>((subscriber) => {
        let last = this.status;
        subscriber.next(last);
        // After shutdown the subject is complete: this completes the subscriber at once. A
        // status equal to the last one this subscriber saw is not handed on: a transition
        // publishes at once and the counters it changed were scheduled too, a shutdown
        // publishes what may have been said already, a subscriber added mid-burst was handed
        // the burst's status first — each was seen twice.
        return this.#status.subscribe({
          next: (status) => {
            if (sameStatus(status, last)) return;
            last = status;
            subscriber.next(status);
          },
          error: (error: unknown) => {
            subscriber.error(error);
          },
          complete: () => {
            subscriber.complete();
          },
        });
      });
      this.outputs$ = this.#outputs.asObservable();
      this.logs$ = this.#logs.asObservable();
      this.actor.subscribe({
        next: (snapshot) => {
          this.#onSnapshot(snapshot);
        },
        error: () => {
          this.#onSnapshot(this.actor.getSnapshot());
        },
      });
      this.actor.start();
    } catch (error) {
      // Nothing holds the instance: its frame memory (out of process, a descriptor) goes now.
      this.#pool.close(error instanceof Error ? error : new Error(messageOf(error)));
      throw error;
    }
  }

  /** The current status, computed now (`status$` coalesces counter changes per microtask). */
  get status(): PluginStatus {
    return this.#buildStatus(this.actor.getSnapshot());
  }

  /**
   * Launches a generation and resolves once the plugin's `start()` resolved (state
   * `started`). Rejects with `StartupFailed` if that generation could not start (a restart
   * may follow, per policy), `StartCancelled` if a stop came first, `InvalidState` while a
   * stop is under way (wait for `stop()`, then start). Resolves at once if the instance is
   * already started or running.
   */
  start(): Promise<void> {
    if (this.#disposed || this.#retiring) return Promise.reject(this.#endedError('start'));
    const state = this.#state;
    if (state === 'started' || state === 'running') return Promise.resolve();
    if (state === 'stopping') return Promise.reject(new InvalidState('start', state, this.#errorOptions()));
    const sent = state === 'starting' ? undefined : this.#send({ type: 'start' });
    // The start's own generation: one more than before it, once the machine takes the event
    // (later, when called from a status callback while the machine is still busy).
    const generation = sent?.deferred === true ? sent.before.context.generation + 1 : this.actor.getSnapshot().context.generation;
    return this.#waitFor(
      'start',
      (snapshot, s) => {
        if (s === 'started' || s === 'running') return { value: undefined };
        const failure = snapshot.context.failure;
        if (s === 'failed' && failure !== undefined && failure.generation >= generation) return { error: this.#errorOf(failure) };
        if (s === 'stopping' || s === 'stopped') return { error: new StartCancelled(this.#errorOptions(generation)) };
        return undefined;
      },
      sent,
    );
  }

  /**
   * Starts delivering inputs (state `running`). From `starting` or a pending restart it
   * resolves once running. Rejects with `InvalidState` before `start()` or after `stop()`,
   * and when a `pause()` called after it wins (the instance comes up paused).
   */
  run(): Promise<void> {
    if (this.#disposed || this.#retiring) return Promise.reject(this.#endedError('run'));
    const state = this.#state;
    if (state === 'running') return Promise.resolve();
    if (state === 'loaded' || state === 'stopping' || state === 'stopped' || this.#isTerminal()) {
      return Promise.reject(new InvalidState('run', state, this.#errorOptions()));
    }
    const intent = ++this.#runIntent;
    const entered = this.#runningEntered;
    const sent = this.#send({ type: 'run' });
    return this.#waitFor(
      'run',
      (snapshot, s) => {
        if (s === 'running' || this.#runningEntered !== entered) return { value: undefined };
        if (s === 'stopping' || s === 'stopped') return { error: new InvalidState('run', s, this.#errorOptions()) };
        // A pause() after this run() (from starting, or a pending restart) won: the instance
        // came up paused, and this run never took effect.
        if (s === 'started' && this.#runIntent !== intent) return { error: new InvalidState('run', 'started: a pause() came after it', this.#errorOptions()) };
        if (snapshot.matches({ failed: 'terminal' }) && snapshot.context.failure !== undefined) {
          return { error: this.#errorOf(snapshot.context.failure) };
        }
        return undefined;
      },
      sent,
    );
  }

  /**
   * Stops delivering inputs without stopping the plugin (state `started`); inputs keep
   * queueing. Not a failure. From `starting` or a pending restart it only changes where
   * the instance returns to.
   */
  pause(): Promise<void> {
    if (this.#disposed) return Promise.reject(this.#endedError('pause'));
    const state = this.#state;
    if (state === 'started') return Promise.resolve();
    if (state === 'starting' || (state === 'failed' && !this.#isTerminal())) {
      this.#runIntent += 1;
      this.actor.send({ type: 'pause' });
      return Promise.resolve();
    }
    if (state !== 'running') return Promise.reject(new InvalidState('pause', state, this.#errorOptions()));
    this.actor.send({ type: 'pause' });
    return this.#waitFor('pause', (_snapshot, s) => (s === 'running' ? undefined : { value: undefined }));
  }

  /**
   * Stops the plugin: no new deliveries, the input the plugin is running finishes, the
   * plugin's `stop()` runs within `timeouts.stop`, then the generation ends. Every input
   * still waiting is dropped (reason `stopped`), in every mode: out of thread also those
   * handed over ahead of the plugin and not started yet. Resolves in `stopped`; rejects with `TeardownFailed` if
   * teardown failed (state `failed`, class `teardown`). Idempotent.
   */
  stop(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    const sent = this.#send({ type: 'stop' });
    // What was handed over and not started is taken back once the machine is stopping: at
    // once, or — sent from a status callback while the machine was busy — a microtask later,
    // when it has taken the stop (before, the deliveries ahead of the plugin all ran first).
    if (sent.deferred) {
      queueMicrotask(() => {
        this.#revokeUnstarted();
      });
    } else {
      this.#revokeUnstarted();
    }
    return this.#waitFor(
      'stop',
      (snapshot, s) => {
        if (s === 'stopped') return { value: undefined };
        const failure = snapshot.context.failure;
        if (s === 'failed' && failure?.class === 'teardown') return { error: this.#errorOf(failure) };
        return undefined;
      },
      sent,
    );
  }

  /**
   * Sends one message to the plugin's `onMessage`, after every input submitted before it.
   * Resolves with what `onMessage` returned (structured-cloned). Rejects with
   * `InputRefused` (not accepted), `InputFailed` (the plugin threw), `InputDropped` (stopped
   * first), `LostWhileRunning` (its generation died), or `RestartBudgetExhausted` (its
   * generation died and no restart is left; `cause`: the `LostWhileRunning`) — never stays
   * pending because a worker died.
   */
  send(message: unknown): Promise<unknown> {
    const seq = this.#nextSeq++;
    const refusal = this.#refusal();
    if (refusal !== undefined) return Promise.reject(this.#refuse(refusal));
    if (this.#queuedMessages >= this.#options.messageQueue) {
      return Promise.reject(this.#refuse(`message queue full (${this.#options.messageQueue})`));
    }
    let copy: unknown;
    try {
      copy = copyValueFor(this.#options.mode, message);
    } catch (error) {
      return Promise.reject(this.#refuse(`message is not structured-cloneable: ${messageOf(error)}`));
    }
    const reply = new Promise<unknown>(this.#capture);
    const captured = this.#captured;
    const { resolve, reject } = captured;
    // Not kept past this call: they hold the promise, and through it its reply.
    captured.resolve = captured.reject = NOOP;
    try {
      this.#accept({ seq, delivery: { kind: 'message', seq, message: copy }, buffer: undefined, resolve, reject, onFrame: undefined, generation: 0, timer: undefined, copyBytes: 0 });
    } catch (error) {
      // As a promise's executor would: what the runtime's own code threw rejects the call.
      reject(error);
    }
    return reply;
  }

  /**
   * The executor of every `send`'s promise: it hands the promise's two functions over in
   * #captured. One function for the instance, not a closure (and its context) per message.
   */
  readonly #capture = (resolve: (value: unknown) => void, reject: (error: unknown) => void): void => {
    this.#captured.resolve = resolve;
    this.#captured.reject = reject;
  };

  /** What #capture took from the last promise made (read at once after; the next overwrites it). */
  readonly #captured: { resolve: (value: unknown) => void; reject: (error: unknown) => void } = { resolve: NOOP, reject: NOOP };

  /**
   * A frame slot to write into without a copy. Waits while every slot of the pool is in
   * use (that is the backpressure of the zero-copy path); `signal` abandons the wait.
   */
  async acquire(byteLength: number, signal?: AbortSignal): Promise<FrameSlot> {
    if (!Number.isSafeInteger(byteLength) || byteLength <= 0 || byteLength > this.#options.frames.maxFrameBytes) {
      throw new InputRefused(`acquire(byteLength): byteLength must be an integer in 1..${this.#options.frames.maxFrameBytes}`, this.#errorOptions());
    }
    // `null` is no signal, as fetch reads it.
    if (signal !== undefined && (signal as AbortSignal | null) !== null && !isAbortSignal(signal)) {
      // `{ signal }`, as fetch takes it, is the likely slip.
      throw new InputRefused(`acquire(byteLength, signal): signal must be an AbortSignal, got ${typeof signal === 'object' ? 'an object that is not one' : typeof signal}`, this.#errorOptions());
    }
    if (this.#disposed) throw this.#endedError('acquire');
    const data = await this.#pool.acquire(byteLength, signal ?? undefined);
    const pool = this.#pool;
    const slots = this.#slots;
    const slot: FrameSlot = {
      data,
      width: 0,
      height: 0,
      format: '',
      timestamp: 0,
      release() {
        if (slots.delete(slot)) pool.release(data);
      },
    };
    this.#slots.set(slot, data);
    ISSUED_SLOTS.set(slot, () => {
      if (this.#disposed) return `its instance "${this.id}" ${this.#disposedBy === 'unload' ? 'was unloaded' : 'was shut down'}`;
      return slots.has(slot) ? undefined : 'this slot was already handed over or released';
    });
    return slot;
  }

  /**
   * A slot handed to this instance is consumed: back to this pool, or, a slot of another
   * instance, to that one's (its `release()` acts only while the slot is still out).
   */
  #giveBackSlot(frame: unknown): void {
    if (typeof frame !== 'object' || frame === null) return;
    const data = this.#slots.get(frame);
    if (data !== undefined) {
      this.#slots.delete(frame);
      this.#pool.release(data);
    } else if (ISSUED_SLOTS.has(frame)) {
      (frame as FrameSlot).release();
    }
  }

  /**
   * Feeds frames to the plugin. The returned Observable (cold: subscribing subscribes to
   * `frames$`) emits exactly one outcome per frame and completes once `frames$` completed
   * and every frame has its outcome. An error of `frames$` is forwarded after that.
   * Unsubscribing stops taking frames; frames already accepted still settle (in the ledger).
   * Runtime shutdown or `runtime.unload()` ends it: `frames$` is unsubscribed, and the
   * Observable completes once the frames it took have their outcomes (at once, `frames$` never
   * subscribed, on an instance already ended).
   */
  connect(frames$: Observable<FrameInput>): Observable<FrameOutcome> {
    return new Observable<FrameOutcome>((subscriber) => {
      if (this.#disposed) {
        subscriber.complete();
        return undefined;
      }
      let pending = 0;
      let sourceDone = false;
      let sourceError: { error: unknown } | undefined;
      const finish = (): void => {
        if (!sourceDone || pending > 0) return;
        if (sourceError === undefined) subscriber.complete();
        else subscriber.error(sourceError.error);
      };
      const onOutcome = (outcome: FrameOutcome): void => {
        pending -= 1;
        subscriber.next(outcome);
        finish();
      };
      const subscription = frames$.subscribe({
        next: (frame) => {
          pending += 1;
          this.#submitFrame(frame, onOutcome);
        },
        error: (error: unknown) => {
          sourceDone = true;
          sourceError = { error };
          finish();
        },
        complete: () => {
          sourceDone = true;
          finish();
        },
      });
      // Shutdown ends the source as if it had completed: no stream outlives the runtime (a
      // live source, a timer say, would otherwise keep the process up for good).
      const end = (): void => {
        subscription.unsubscribe();
        if (sourceDone) return;
        sourceDone = true;
        finish();
      };
      this.#connections.add(end);
      return () => {
        this.#connections.delete(end);
        subscription.unsubscribe();
      };
    });
  }

  /**
   * At a stop: what the generation was handed and has not started is dropped (`stopped`), as
   * what still waits here is. Out of thread up to 64 inputs are handed over ahead of the
   * plugin; left to run, a plugin slower than `timeouts.stop` / 64 per input failed its stop
   * (`teardown/timeout`) where inline it stopped at once.
   */
  #revokeUnstarted(): void {
    const attached = this.#attached;
    if (attached === undefined || !attached.alive || this.#state !== 'stopping') return;
    // What waits here is dropped at the same point, after the running input: in every mode,
    // with the same reason, whether the stop then succeeds or fails.
    // One by one: a spread of a queue of ~125k entries would overflow the stack.
    for (const entry of this.#queue.takeAll()) this.#stopQueue.push(entry);
    let revoked: readonly number[] = [];
    try {
      revoked = attached.session.revokeUnstarted?.() ?? [];
    } catch {
      // Nothing revoked: the deliveries run, as without the capability.
    }
    for (const seq of revoked) {
      if (this.#inFlight.get(seq)?.generation === attached.generation) this.#revoked.add(seq);
    }
    this.#dropRevoked();
  }

  /**
   * Drops the revoked inputs once no input before them is still in flight: outcomes keep
   * submission order (the input running when the stop came settles first).
   */
  #dropRevoked(): void {
    if (this.#revoked.size === 0 && this.#stopQueue.length === 0) return;
    const entries: Entry[] = [];
    for (const entry of this.#inFlight.values()) {
      if (!this.#revoked.has(entry.seq)) return;
      entries.push(entry);
    }
    for (const entry of entries) this.#inFlight.delete(entry.seq);
    this.#revoked.clear();
    this.#settleRevoked(entries);
  }

  /**
   * Drops inputs revoked at a stop (`stopped`), then what the stop took from the queue.
   * `entries` come from #inFlight, which iterates in ascending `seq`: submission order.
   */
  #settleRevoked(entries: readonly Entry[]): void {
    for (const entry of entries) {
      this.#clearTimer(entry);
      this.#counters.inFlight -= 1;
      this.#counters.dropped += 1;
      // The guest holds the slot's descriptor until its generation ends: quarantined till then.
      this.#finishBuffer(entry, entry.generation);
      this.#settleEntry(entry, { kind: 'dropped', generation: entry.generation, reason: 'stopped' });
    }
    for (const entry of this.#stopQueue.splice(0)) this.#settleQueued(entry, 'stopped');
    this.#scheduleStatus();
  }

  /**
   * @internal The runtime begins to end this instance (`runtime.unload()` or shutdown): from
   * here on start() and run() are refused as after it, so nothing launches a generation
   * between the runtime's stop and its dispose.
   */
  retiring(by: 'unload' | 'shutdown'): void {
    this.#retiring = true;
    this.#disposedBy = by;
  }

  /** @internal Ends the instance for good (`runtime.unload()` or shutdown): stops the actor, settles everything. */
  dispose(by: 'unload' | 'shutdown' = 'shutdown'): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#disposedBy = by;
    this.actor.stop();
    // In submission order: what the generation left in flight, then what waited here.
    this.#settleOrphans();
    for (const entry of this.#stopQueue.splice(0)) this.#settleQueued(entry, this.#endedReason());
    this.#dropQueued(this.#endedReason());
    this.#pool.close(this.#endedError('acquire'));
    this.#publishStatus();
    this.#status.complete();
    this.#outputs.complete();
    this.#logs.complete();
    for (const end of [...this.#connections]) end();
    this.#connections.clear();
  }

  /** Why inputs still waiting were dropped when the instance ended for good. */
  #endedReason(): string {
    return this.#disposedBy === 'unload' ? 'instance unloaded' : 'runtime shut down';
  }

  /** The error of `operation` on an instance that ended for good. */
  #endedError(operation: string): Error {
    return this.#disposedBy === 'unload' ? new InvalidState(operation, 'unloaded', this.#errorOptions()) : new RuntimeShutDown(this.#errorOptions());
  }

  // ---- generations -------------------------------------------------------------------

  #launch(generation: number, report: (event: GenerationReport) => void): GenerationSession {
    // An earlier generation's thrown value is no cause of this one's failures: let it go.
    this.#thrown = undefined;
    const attached: { current: Attached | undefined } = { current: undefined };
    const isCurrent = (): boolean => attached.current !== undefined && attached.current.alive;
    const session = this.#env.adapter.launch({
      instanceId: this.id,
      generation,
      module: this.#options.module,
      config: this.#options.config,
      pool: this.#pool,
      inputBudgetMs: this.#options.timeouts.input,
      heartbeatMs: this.#options.timeouts.heartbeat,
      haltOnInputError: this.#options.supervision.onInputError === 'restart',
      poisonReleased: this.#options.frames.poisonReleased,
      isolation: this.#options.isolation,
      limits: this.#options.limits,
      sink: {
        output: (channel, value, inputSeq) => {
          if (!isCurrent()) {
            this.#counters.stale += 1;
            this.#scheduleStatus();
            return;
          }
          this.#outputSeq += 1;
          this.#counters.outputs += 1;
          this.#outputs.next({
            channel,
            value,
            generation,
            seq: this.#outputSeq,
            ...(inputSeq === undefined ? {} : { inputSeq }),
          });
          this.#scheduleStatus();
        },
        log: (level, message) => {
          if (!isCurrent()) {
            this.#counters.stale += 1;
            this.#scheduleStatus();
            return;
          }
          this.#logs.next({ level, message, generation });
        },
        heartbeat: (heapShare) => {
          if (isCurrent()) report({ type: 'gen.heartbeat', generation, ...(heapShare === undefined ? {} : { heapShare }) });
        },
        stale: () => {
          this.#counters.stale += 1;
          this.#scheduleStatus();
        },
        lost: (fault) => {
          if (isCurrent()) report({ type: 'gen.lost', generation, fault });
        },
        lingering: (fault) => {
          // Not fenced: the status must say that a generation could not be ended.
          this.#lingering.push({ ...fault, class: 'teardown', generation });
          this.#publishStatus();
        },
        ended: () => {
          // It did end (the blocking syscall returned): the status stops saying otherwise.
          const at = this.#lingering.findIndex((failure) => failure.generation === generation);
          if (at < 0) return;
          this.#lingering.splice(at, 1);
          this.#publishStatus();
        },
      },
    });
    attached.current = {
      generation,
      session,
      settle: (seq, result) => {
        this.#settleDelivery(seq, generation, result);
      },
      // A drop policy must see every frame that waits: one handed over ahead of the plugin
      // (out of thread, up to 64 at once) would wait where the policy cannot reach it — a
      // plugin 50 ms per frame behind a 60 fps source saw frames 3 s old with `queue: 2`.
      // So with one, inputs are handed over one at a time, as inline.
      maxInFlight: this.#options.frames.overflow === 'block' ? session.maxInFlight : 1,
      ready: false,
      alive: true,
    };
    this.#attached = attached.current;
    this.#transport = session.transport;
    return session;
  }

  #detach(generation: number): void {
    const attached = this.#attached;
    if (attached === undefined || attached.generation !== generation) return;
    attached.alive = false;
    this.#attached = undefined;
    let unstarted: ReadonlySet<number> = new Set();
    let completed: ReadonlyMap<number, DeliveryResult> = new Map();
    try {
      const fenced = attached.session.fence?.();
      if (fenced !== undefined) {
        unstarted = new Set(fenced.unstarted);
        completed = fenced.completed;
      }
    } catch {
      // Without a fence every unsettled delivery counts as lost: conservative, never silent.
    }
    // Inputs the guest finished before the fence: done, as if their outcome had arrived.
    for (const [seq, result] of completed) this.#settleDelivery(seq, generation, result, false);
    try {
      attached.session.dispose();
    } catch {
      // dispose is forced teardown; a failure here must not leave inputs pending.
    }
    const ofGeneration = this.#inFlight.values().filter((entry) => entry.generation === generation);
    for (const entry of ofGeneration) {
      this.#inFlight.delete(entry.seq);
      this.#clearTimer(entry);
    }
    // Revoked by a stop: never started, dropped after what came before them.
    const revoked = ofGeneration.filter((entry) => this.#revoked.has(entry.seq));
    for (const entry of revoked) this.#revoked.delete(entry.seq);
    const inFlight = ofGeneration.filter((entry) => !revoked.includes(entry));
    // Deliveries the plugin never started go back to the head of the queue, in order, for
    // the next generation (or the terminal drop): nothing was lost.
    const requeue = inFlight.filter((entry) => unstarted.has(entry.seq));
    for (const entry of requeue) {
      this.#uncountCopy(entry);
      this.#counters.inFlight -= 1;
      this.#counters.queued += 1;
      this.#countQueuedFrame(entry, 1);
    }
    this.#queue.unshiftAll(requeue);
    const orphans = inFlight.filter((entry) => !unstarted.has(entry.seq));
    if (orphans.length === 0) {
      if (revoked.length > 0 || this.#stopQueue.length > 0) this.#settleRevoked(revoked);
      return;
    }
    // The machine records the failure in the same transition that disposed us; read it
    // once that transition has completed, so each lost input names why its generation died:
    // when its snapshot arrives (#onSnapshot, before anything queued behind these inputs is
    // dropped), or in a microtask if none does.
    const settle = (): void => {
      if (this.#orphansDue !== settle) return;
      this.#orphansDue = undefined;
      const context = this.actor.getSnapshot().context;
      const failure = context.lastFailure?.generation === generation ? context.lastFailure : undefined;
      const reason =
        failure === undefined
          ? this.#disposed
            ? this.#endedReason()
            : `generation ${generation} ended`
          : `generation ${generation} ${failure.class === 'lost' ? 'lost' : `failed (${failure.class})`}: ${failure.cause}`;
      for (const entry of orphans) {
        this.#counters.inFlight -= 1;
        this.#counters.lost += 1;
        this.#finishBuffer(entry, generation);
        this.#settleEntry(entry, { kind: 'lost', generation, failure, reason });
      }
      if (revoked.length > 0 || this.#stopQueue.length > 0) this.#settleRevoked(revoked);
      this.#publishStatus();
    };
    this.#settleOrphans();
    this.#orphansDue = settle;
    queueMicrotask(settle);
  }

  /** Settles the inputs a generation's end left behind, if that is still due (see #detach). */
  #settleOrphans(): void {
    this.#orphansDue?.();
  }

  // ---- inputs ------------------------------------------------------------------------

  #refusal(): string | undefined {
    if (this.#disposed) return this.#disposedBy === 'unload' ? 'the instance was unloaded' : 'the runtime has shut down';
    if (!this.#accepting) return `instance is ${this.#state}`;
    return undefined;
  }

  #refuse(reason: string): InputRefused {
    this.#counters.refused += 1;
    this.#scheduleStatus();
    return new InputRefused(reason, this.#errorOptions());
  }

  /** Refuses one frame: its slot (if it was one) goes back to the pool, its outcome says why. */
  #refuseFrame(frame: FrameInput, seq: number, settle: (outcome: FrameOutcome) => void, reason: string): void {
    this.#giveBackSlot(frame);
    this.#counters.refused += 1;
    this.#scheduleStatus();
    settle({ seq, generation: this.actor.getSnapshot().context.generation, kind: 'dropped', reason: `refused: ${reason}` });
  }

  // The hot path of every frame: no closures or intermediate objects beyond the entry.
  #submitFrame(frame: FrameInput, settle: (outcome: FrameOutcome) => void): void {
    const seq = this.#nextSeq++;
    const refusal = this.#refusal();
    if (refusal !== undefined) {
      this.#refuseFrame(frame, seq, settle, refusal);
      return;
    }
    const meta = this.#readFrame(frame);
    if (typeof meta === 'string') {
      this.#refuseFrame(frame, seq, settle, `invalid frame: ${meta}`);
      return;
    }
    const source = this.#frameData;
    this.#frameData = undefined;
    if (source === undefined) throw new Error('unreachable: a frame read without its data');
    // This instance's slot (looked up once); else another instance's (still out: copied and
    // given back below), or one handed over before (refused).
    const slotData = this.#slots.get(frame);
    const issuedElsewhere = slotData === undefined ? ISSUED_SLOTS.get(frame) : undefined;
    const gone = issuedElsewhere?.();
    if (gone !== undefined) {
      this.#refuseFrame(frame, seq, settle, `${gone}: acquire() another`);
      return;
    }
    const overflow = this.#options.frames.overflow;
    const { maxQueuedBytes } = this.#options.frames;
    // What waits: the queue, and frames handed over ahead of the plugin as copies outside the
    // pool (out of thread, `block` hands up to 64 over; with every slot taken, each is a copy
    // the host holds, which a stalled plugin would let grow to 64 frames).
    // Each counts its bytes and the host's bookkeeping of it (FRAME_BOOKKEEPING_BYTES): a
    // stream of 1-byte frames otherwise ran the host out of heap long before its bytes did.
    const waitingFrames = this.#queuedFrames + this.#inFlightCopies;
    const waitingBytes = this.#queuedBytes + this.#inFlightCopyBytes + waitingFrames * FRAME_BOOKKEEPING_BYTES;
    if (overflow === 'block' && waitingFrames >= this.#options.frames.queue && waitingBytes + source.length + FRAME_BOOKKEEPING_BYTES > maxQueuedBytes) {
      // `block` never drops an accepted frame, but a push source (an Observable) cannot be
      // made to wait: past this ceiling the frame is refused, explicitly, instead of the host's
      // memory growing for as long as the plugin stalls (RELIABILITY C1).
      this.#refuseFrame(
        frame,
        seq,
        settle,
        `queue full: ${waitingFrames} frames waiting, ${waitingBytes} bytes with their bookkeeping, above frames.maxQueuedBytes (${maxQueuedBytes}); ` +
          'pace the producer with acquire() or choose a drop overflow policy',
      );
      return;
    }
    let displaced: { readonly entry: Entry; readonly outcome: Outcome } | undefined;
    if (this.#queuedFrames >= this.#options.frames.queue) {
      if (overflow === 'drop-newest') {
        this.#giveBackSlot(frame);
        this.#counters.accepted += 1;
        this.#counters.dropped += 1;
        this.#scheduleStatus();
        settle({ seq, generation: this.actor.getSnapshot().context.generation, kind: 'dropped', reason: 'overflow: drop-newest' });
        return;
      }
      if (overflow === 'drop-oldest') {
        const victim = this.#queue.removeFirst(isFrameEntry);
        // Its slot goes back now (the newcomer may need it); its outcome once the newcomer is
        // queued, below: what the application sends from that outcome comes after both.
        if (victim !== undefined) displaced = { entry: victim, outcome: this.#retireQueued(victim, 'overflow: drop-oldest') };
      }
    }
    let data = slotData;
    if (data !== undefined) {
      this.#slots.delete(frame);
      if (source.length !== data.length || source.buffer !== data.buffer || source.byteOffset !== data.byteOffset) {
        // The application replaced the slot's view: honour its bytes with one copy.
        const copy = this.#pool.copyIn(source);
        this.#pool.release(data);
        data = copy;
      }
    } else {
      // The application keeps its buffer: exactly one copy, into a pooled slot.
      data = this.#pool.copyIn(source);
      // A slot of another instance: copied like any buffer, and handed to connect() all the
      // same, so it goes back to its own pool (nothing else would release it).
      if (issuedElsewhere !== undefined) (frame as FrameSlot).release();
    }
    this.#queuedFrames += 1;
    this.#queuedBytes += data.length;
    this.#accept({ seq, delivery: { kind: 'frame', seq, meta, data }, buffer: data, resolve: undefined, reject: undefined, onFrame: settle, generation: 0, timer: undefined, copyBytes: 0 });
    if (displaced !== undefined) this.#settleEntry(displaced.entry, displaced.outcome);
  }

  /**
   * Reads each field of an application's frame once and validates what it read: the frame's
   * metadata (its data left in #frameData), or why it is refused. Once, because a getter may
   * answer differently each time it is read, and what is handed over must be what was
   * checked; a getter that throws refuses the frame instead of throwing into the
   * application's stream.
   */
  #readFrame(frame: FrameInput): FrameMetadata | string {
    if (typeof frame !== 'object' || (frame as FrameInput | null) === null) return 'a frame must be an object';
    let data: unknown;
    let width: unknown;
    let height: unknown;
    let format: unknown;
    let timestamp: unknown;
    try {
      ({ data, width, height, format, timestamp } = frame);
      data = plainBytes(data);
    } catch (error) {
      return `reading it threw: ${messageOf(error)}`;
    }
    const problem = frameFieldsProblem(data, width, height, format, timestamp, this.#options.frames.maxFrameBytes);
    if (problem !== undefined) return problem;
    this.#frameData = data as Uint8Array;
    return { width: width as number, height: height as number, format: format as string, timestamp: timestamp as number };
  }

  #accept(entry: Entry): void {
    this.#counters.accepted += 1;
    this.#counters.queued += 1;
    if (entry.delivery.kind === 'message') this.#queuedMessages += 1;
    this.#scheduleStatus();
    // The common case under load: nothing queued ahead and room in flight. The input goes
    // straight to the generation, not through the queue (a push and a shift per input).
    const attached = this.#queue.size === 0 ? this.#readyGeneration() : undefined;
    if (attached !== undefined && this.#inFlight.size < attached.maxInFlight && attached.session.hasRoom?.() !== false) {
      this.#handOver(attached, entry);
      return;
    }
    this.#queue.push(entry);
    this.#pump();
  }

  #queuedMessagesSettled(): void {
    // Messages count against the message queue until they settle, wherever they are.
    this.#queuedMessages -= 1;
  }

  /** Hands queued inputs to the current generation while it is running and has room. */
  #pump(): void {
    const attached = this.#readyGeneration();
    if (attached === undefined) return;
    while (this.#queue.size > 0 && this.#inFlight.size < attached.maxInFlight && attached.session.hasRoom?.() !== false) {
      const entry = this.#queue.shift();
      if (entry === undefined) return;
      this.#moveIntoPool(entry);
      this.#handOver(attached, entry);
    }
  }

  /**
   * A frame that waited as a copy (every slot was in use when it came) moves into a slot
   * freed since, if there is one, so it is handed over on the ring, not cloned into a message.
   * Only for frames that waited: one handed over as it comes had its chance a moment ago.
   */
  #moveIntoPool(entry: Entry): void {
    const delivery = entry.delivery;
    if (delivery.kind !== 'frame' || entry.buffer === undefined) return;
    const moved = this.#pool.moveIntoPool(entry.buffer);
    if (moved === undefined) return;
    entry.buffer = moved;
    entry.delivery = { kind: 'frame', seq: delivery.seq, meta: delivery.meta, data: moved };
  }

  /** The current generation when it takes inputs (alive, ready, the instance running). */
  #readyGeneration(): Attached | undefined {
    const attached = this.#attached;
    return attached !== undefined && attached.alive && attached.ready && this.#state === 'running' ? attached : undefined;
  }

  /** Counts a frame handed over as a copy outside the pool (see #submitFrame's ceiling). */
  #countCopy(entry: Entry): void {
    const delivery = entry.delivery;
    if (delivery.kind !== 'frame' || this.#pool.holds(delivery.data)) return;
    entry.copyBytes = delivery.data.length;
    this.#inFlightCopies += 1;
    this.#inFlightCopyBytes += delivery.data.length;
  }

  /** The frame left flight (settled, dropped, lost, or requeued). */
  #uncountCopy(entry: Entry): void {
    const bytes = entry.copyBytes;
    if (bytes === 0) return;
    entry.copyBytes = 0;
    this.#inFlightCopies -= 1;
    this.#inFlightCopyBytes -= bytes;
  }

  /** Moves one accepted input from queued to in flight on `attached`. */
  #handOver(attached: Attached, entry: Entry): void {
    this.#countQueuedFrame(entry, -1);
    this.#countCopy(entry);
    this.#counters.queued -= 1;
    this.#counters.inFlight += 1;
    entry.generation = attached.generation;
    const budget = this.#options.timeouts.input;
    // One budget at a time, the oldest input's: inputs run in order, so it is the one the
    // plugin is running (or about to). Out of thread up to 64 wait ahead of the plugin; a
    // budget armed at hand-over counted that wait, and a plugin within its budget per
    // input was declared unresponsive behind slower ones (6 inputs of 100 ms, budget 300:
    // the third lost).
    if (budget !== undefined && this.#budgeted === undefined) this.#armBudget(entry, attached.generation, budget);
    this.#inFlight.set(entry.seq, entry);
    this.#deliver(attached, entry);
  }

  // The closures an input may need live in these two methods, not in #pump's loop: a closure
  // there would cost every input a context object, created or not.

  #armBudget(entry: Entry, generation: number, budget: number): void {
    this.#budgeted = entry;
    entry.timer = this.#env.clock.setTimeout(() => {
      this.#inputOverBudget(entry.seq, generation, budget);
    }, budget);
  }

  /** After the budgeted input settled: the budget of the next oldest in flight starts now. */
  #armNextBudget(generation: number): void {
    const budget = this.#options.timeouts.input;
    if (budget === undefined || this.#budgeted !== undefined) return;
    // In ascending `seq`: the first of this generation not revoked is the oldest.
    for (const entry of this.#inFlight.values()) {
      if (entry.generation !== generation || this.#revoked.has(entry.seq)) continue;
      this.#armBudget(entry, generation, budget);
      return;
    }
  }

  #deliver(attached: Attached, entry: Entry): void {
    try {
      attached.session.deliver(entry.delivery, attached.settle);
    } catch (error) {
      this.#deliveryThrew(attached, entry.seq, error);
    }
  }

  // Its own method: a closure in #deliver would cost every input a context object, thrown or not.
  #deliveryThrew(attached: Attached, seq: number, error: unknown): void {
    // Settled later, as a delivery always is, never inside the pump's loop.
    queueMicrotask(() => {
      attached.settle(seq, { ok: false, error });
    });
  }

  #settleDelivery(seq: number, generation: number, result: DeliveryResult, pump = true): void {
    const entry = this.#inFlight.get(seq);
    if (entry === undefined || entry.generation !== generation) {
      // A reply for an input already settled as lost: the fence drops it.
      this.#counters.stale += 1;
      this.#scheduleStatus();
      return;
    }
    this.#inFlight.delete(seq);
    this.#clearTimer(entry);
    this.#counters.inFlight -= 1;
    this.#finishBuffer(entry);
    if (result.ok) {
      this.#counters.done += 1;
      if (entry.onFrame !== undefined) entry.onFrame({ seq, generation, kind: 'done' });
      else if (entry.resolve !== undefined) {
        // A message's reply, straight to its caller: no outcome object on the hot path.
        this.#queuedMessagesSettled();
        entry.resolve(result.value);
      }
    } else {
      this.#counters.failed += 1;
      this.#settleEntry(entry, { kind: 'failed', generation, error: result.error });
      this.actor.send({ type: 'gen.inputFailed', generation, detail: `input ${seq}: ${messageOf(result.error)}` });
    }
    this.#scheduleStatus();
    if (this.#revoked.size > 0 || this.#stopQueue.length > 0) this.#dropRevoked();
    if (this.#budgeted === undefined && this.#options.timeouts.input !== undefined) this.#armNextBudget(generation);
    if (pump) this.#pump();
  }

  #inputOverBudget(seq: number, generation: number, budget: number): void {
    const entry = this.#inFlight.get(seq);
    if (entry === undefined || entry.generation !== generation) return;
    this.actor.send({
      type: 'gen.lost',
      generation,
      fault: { cause: 'unresponsive', detail: `input ${seq} did not settle within its ${budget} ms budget` },
    });
  }

  /** Counts a frame entering (+1) or leaving (-1) the queue; messages are not counted. */
  #countQueuedFrame(entry: Entry, sign: 1 | -1): void {
    if (entry.delivery.kind !== 'frame') return;
    this.#queuedFrames += sign;
    this.#queuedBytes += sign * entry.delivery.data.length;
  }

  #settleQueued(entry: Entry, reason: string): void {
    this.#settleEntry(entry, this.#retireQueued(entry, reason));
  }

  /** Drops a waiting entry taken off the queue (counts, its slot); returns the outcome to settle it with. */
  #retireQueued(entry: Entry, reason: string): Outcome {
    this.#countQueuedFrame(entry, -1);
    this.#counters.queued -= 1;
    this.#counters.dropped += 1;
    this.#finishBuffer(entry);
    this.#scheduleStatus();
    return { kind: 'dropped', generation: this.actor.getSnapshot().context.generation, reason };
  }

  /** Tells whoever submitted the entry how it ended: a message's caller, or a frame's stream. */
  #settleEntry(entry: Entry, outcome: Outcome): void {
    const seq = entry.seq;
    const { resolve, reject } = entry;
    if (resolve !== undefined && reject !== undefined) {
      this.#queuedMessagesSettled();
      switch (outcome.kind) {
        case 'done':
          resolve(outcome.value);
          return;
        case 'failed':
          reject(new InputFailed(seq, { cause: outcome.error, generation: outcome.generation, instanceId: this.id }));
          return;
        case 'dropped':
          reject(new InputDropped(seq, outcome.reason, { generation: outcome.generation, instanceId: this.id }));
          return;
        case 'lost':
          reject(this.#lostError(outcome));
          return;
      }
    }
    const generation = outcome.generation;
    switch (outcome.kind) {
      case 'done':
        entry.onFrame?.({ seq, generation, kind: 'done' });
        return;
      case 'failed':
        entry.onFrame?.({ seq, generation, kind: 'failed', reason: messageOf(outcome.error) });
        return;
      case 'dropped':
      case 'lost':
        entry.onFrame?.({ seq, generation, kind: outcome.kind, reason: outcome.reason });
        return;
    }
  }

  #clearTimer(entry: Entry): void {
    if (this.#budgeted === entry) this.#budgeted = undefined;
    if (entry.timer === undefined) return;
    this.#env.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  #dropQueued(reason: string): void {
    for (const entry of this.#queue.takeAll()) this.#settleQueued(entry, reason);
  }

  /** Releases a settled frame's buffer, or quarantines it when `deadGeneration` may still touch it. */
  #finishBuffer(entry: Entry, deadGeneration?: number): void {
    this.#uncountCopy(entry);
    if (entry.buffer === undefined) return;
    if (deadGeneration === undefined) this.#pool.release(entry.buffer);
    else this.#pool.discard(entry.buffer, deadGeneration);
  }

  // ---- lifecycle observation ---------------------------------------------------------

  #onSnapshot(snapshot: PluginLifecycleSnapshot): void {
    const state = lifecycleStateOf(snapshot);
    // Cached here, once per transition: the input path asks for it on every input.
    this.#terminal = state === 'failed' && snapshot.matches({ failed: 'terminal' });
    const changed = state !== this.#state;
    if (changed && state === 'running') this.#runningEntered += 1;
    this.#state = state;
    this.#accepting = ACCEPTING.has(state) && !this.#terminal;
    const attached = this.#attached;
    if (attached !== undefined && attached.generation === snapshot.context.generation && (state === 'started' || state === 'running')) {
      attached.ready = true;
    }
    // The transition is on record before any outcome it causes (a `lost` names a generation
    // that has ended); what the generation left in flight settles next, then the queue
    // behind it: outcomes keep submission order.
    const settlesFirst = state === 'stopped' || this.#terminal || this.#orphansDue !== undefined;
    if (changed && settlesFirst) this.#publishStatus();
    this.#settleOrphans();
    if (state === 'stopped') this.#dropQueued('stopped');
    else if (this.#terminal) {
      const failure = snapshot.context.failure;
      this.#dropQueued(failure === undefined ? 'instance failed' : `instance failed (${failure.class}: ${failure.cause})`);
    }
    if (changed && !settlesFirst) this.#publishStatus();
    this.#pump();
  }

  #isTerminal(): boolean {
    return this.#terminal;
  }

  #waitFor<T>(
    operation: string,
    decide: (snapshot: PluginLifecycleSnapshot, state: LifecycleState) => { value: T } | { error: Error } | undefined,
    sent?: SentEvent,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const holder: { subscription?: { unsubscribe(): void } } = {};
      // The snapshot the event was sent from is never the answer: the machine may not have
      // taken the event yet (sent from a status callback while it was busy), and an observer
      // added from such a callback is still handed that snapshot after the newer ones.
      const predating = sent?.before;
      const check = (snapshot: PluginLifecycleSnapshot, force = false): void => {
        if (settled || (snapshot === predating && !force)) return;
        const verdict = decide(snapshot, lifecycleStateOf(snapshot));
        if (verdict === undefined) return;
        settled = true;
        holder.subscription?.unsubscribe();
        if ('error' in verdict) reject(verdict.error);
        else resolve(verdict.value);
      };
      check(this.actor.getSnapshot());
      // A microtask later the machine has taken it — or ignored it, and the snapshot stands.
      if (sent?.deferred === true) {
        queueMicrotask(() => {
          check(this.actor.getSnapshot(), true);
        });
      }
      if (settled) return;
      const subscription = this.actor.subscribe({
        next: (snapshot) => {
          check(snapshot);
        },
        complete: () => {
          if (!settled) {
            settled = true;
            reject(this.#endedError(operation));
          }
        },
      });
      holder.subscription = subscription;
      if (this.#disposed && !settled) {
        settled = true;
        subscription.unsubscribe();
        reject(this.#endedError(operation));
      }
    });
  }

  // ---- errors and status ---------------------------------------------------------------

  /** Sends `event` to the machine; `deferred` when it did not take it at once (a status callback, the machine busy). */
  #send(event: { readonly type: 'start' | 'run' | 'stop' }): SentEvent {
    const before = this.actor.getSnapshot();
    this.actor.send(event);
    return { before, deferred: this.actor.getSnapshot() === before };
  }

  #errorOptions(generation?: number): { generation: number; instanceId: string } {
    return { generation: generation ?? this.actor.getSnapshot().context.generation, instanceId: this.id };
  }

  #errorOf(failure: Failure): PluginSeamError {
    const thrown = this.#thrown;
    const options = {
      failureCause: failure.cause,
      generation: failure.generation,
      instanceId: this.id,
      ...(failure.detail === undefined ? {} : { detail: failure.detail }),
      ...(failure.cause === 'threw' && thrown?.generation === failure.generation ? { cause: thrown.thrown } : {}),
    };
    const snapshot = this.actor.getSnapshot();
    const error =
      failure.class === 'startup'
        ? new StartupFailed(options)
        : failure.class === 'lost'
          ? new LostWhileRunning(options)
          : new TeardownFailed(options);
    if (snapshot.context.exhausted && snapshot.context.failure === failure) {
      return new RestartBudgetExhausted({ cause: error, generation: failure.generation, instanceId: this.id });
    }
    return error;
  }

  #lostError(outcome: Extract<Outcome, { kind: 'lost' }>): PluginSeamError {
    if (outcome.failure !== undefined && outcome.failure.class === 'lost') return this.#errorOf(outcome.failure);
    return new LostWhileRunning({
      failureCause: outcome.failure?.cause ?? 'channel_closed',
      generation: outcome.generation,
      instanceId: this.id,
      detail: outcome.reason,
    });
  }

  #scheduleStatus(): void {
    if (this.#statusScheduled || !this.#status.observed) return;
    this.#statusScheduled = true;
    // Counter changes are coalesced per microtask: a burst of frames is one status update.
    queueMicrotask(() => {
      this.#statusScheduled = false;
      this.#publishStatus();
    });
  }

  #publishStatus(): void {
    if (!this.#status.observed) return;
    this.#status.next(this.#buildStatus(this.actor.getSnapshot()));
  }

  #buildStatus(snapshot: PluginLifecycleSnapshot): PluginStatus {
    const context = snapshot.context;
    const state = lifecycleStateOf(snapshot);
    const inBackoff = snapshot.matches({ failed: 'backoff' });
    // A snapshot, frozen through: an application that wrote into a status it was handed
    // (`s.failure.cause = …`) once wrote into the lifecycle's own failure record, and every
    // later status, error and inspector event carried the edit.
    return Object.freeze({
      id: this.id,
      mode: this.mode,
      state,
      generation: context.generation,
      ...(state === 'failed' && context.failure !== undefined ? { failure: frozenCopy(context.failure) } : {}),
      ...(context.lastFailure === undefined ? {} : { lastFailure: frozenCopy(context.lastFailure) }),
      restarts: context.restarts,
      ...(state === 'failed'
        ? { restart: Object.freeze({ scheduled: inBackoff, delayMs: inBackoff ? context.backoffMs : 0, exhausted: context.exhausted }) }
        : {}),
      transport: this.#transport,
      ...(this.#lingering.length === 0 ? {} : { lingering: Object.freeze(this.#lingering.map(frozenCopy)) }),
      counters: Object.freeze({ ...this.#counters }),
    });
  }
}

/** A frozen copy of a failure record (its fields are primitives). */
function frozenCopy(failure: Failure): Failure {
  return Object.freeze({ ...failure });
}
