import type { Fault, Mode } from '../machines/lifecycleTypes.js';
import type { LogLevel, PluginDefinition } from '../plugin/types.js';
import type { FramePool } from '../transport/FramePool.js';

/** How frames reach the plugin in a generation: by reference, through shared memory, or copied. */
export type TransportKind = 'direct' | 'shared-memory' | 'copy';

/** Frame metadata as the application hands it in (the runtime adds `seq` and `generation`). */
export interface FrameMetadata {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly timestamp: number;
}

/** One input handed to a generation: a frame (its bytes in a pool slot) or a message. */
export type Delivery =
  | { readonly kind: 'frame'; readonly seq: number; readonly meta: FrameMetadata; readonly data: Uint8Array }
  | { readonly kind: 'message'; readonly seq: number; readonly message: unknown };

/** How the plugin settled one input. `error` is what it threw (as the guest could transport it). */
export type DeliveryResult = { readonly ok: true; readonly value?: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Longest stretch, in ms, a plugin runs inputs back to back without its event loop getting
 * a turn, in every mode: the plugin's own timers and I/O — and, inline, the host's — wait at
 * most about this long, however fast inputs arrive (an application that feeds a frame per
 * outcome would otherwise chain microtasks for ever). Out of thread, a guest's blocking wait
 * for the next input (`BLOCKING_PARK_MS`, begun only while no turn is owed) may add to it.
 */
export const EVENT_LOOP_TURN_MS = 4;

/** The result of every frame (and value-less message) that went well: one object for all. */
export const DELIVERY_DONE: DeliveryResult = Object.freeze({ ok: true });

/**
 * How a session reports that the plugin settled one delivery (by its `seq`). One function
 * serves a whole generation, so handing an input over allocates no promise or closure.
 */
export type DeliverySettle = (seq: number, result: DeliveryResult) => void;

/** What a generation reports to the runtime, besides settling the calls made to it. */
export interface GenerationSink {
  /** A value the plugin emitted; `inputSeq` is the input being handled when it did, if any. */
  output(channel: string, value: unknown, inputSeq: number | undefined): void;
  log(level: LogLevel, message: string): void;
  /**
   * The guest is alive (adapters with a heartbeat only); `heapShare`: its JavaScript heap in
   * use as a share of `limits.maxHeapMb` at that beat, when there is such a limit.
   */
  heartbeat(heapShare?: number): void;
  /** A reply for no pending input (unknown or already settled): dropped, to be counted. */
  stale(): void;
  /** The generation died by itself (exit, crash, protocol violation…). Reported at most once. */
  lost(fault: Fault): void;
  /**
   * Forcing the generation to end did not complete (e.g. a worker blocked in a synchronous
   * syscall ignores `terminate()`). Reported even after the generation was fenced.
   */
  lingering(fault: Fault): void;
  /** A generation reported lingering has ended after all (its thread or process is gone). */
  ended(): void;
}

/** The plugin module to run: a module specifier (URL string) or, inline only, a definition. */
export type PluginModuleRef = { readonly url: string } | { readonly definition: PluginDefinition };

/** Everything an adapter needs to launch one generation. */
export interface LaunchRequest {
  readonly instanceId: string;
  readonly generation: number;
  readonly module: PluginModuleRef;
  readonly config: unknown;
  readonly sink: GenerationSink;
  /** The instance's frame pool (created by this adapter's `createFramePool`). */
  readonly pool: FramePool;
  /** The heartbeat deadline in ms (0: none): the guest should show life well within it. */
  readonly heartbeatMs: number;
  /** The declared per-input budget, if any: a guest busy on an input within it is not hung. */
  readonly inputBudgetMs: number | undefined;
  /** Resource limits asked for this instance. */
  readonly limits: ResourceLimits;
  /** Policy: an input error ends the generation, so the guest must start no further input. */
  readonly haltOnInputError: boolean;
  /**
   * `frames.poisonReleased`: besides the pool's slots, a guest poisons the bytes of a frame
   * that reached it as a copy (by message, not in a shared slot) once its `onFrame` settled.
   */
  readonly poisonReleased: boolean;
  /** How an isolated plugin process is confined (other modes ignore it). */
  readonly isolation: IsolationSettings;
}

/** How an isolated plugin process is confined. */
export interface IsolationSettings {
  /** The child's whole environment: nothing of the host's leaks unless named here. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Node's permission model as a seat belt (not a sandbox): when set, the child runs with
   * the permission flag, may read the runtime's own files, the plugin module's directory
   * and `allowFsRead`, and write only `allowFsWrite`.
   */
  readonly permission: { readonly allowFsRead: readonly string[]; readonly allowFsWrite: readonly string[] } | undefined;
  /** How long the child may keep its pipe's reader throttled before it is a flood (`lost`/`protocol`), in ms. */
  readonly floodMs: number;
}

/** Per-instance resource limits; each adapter applies what its execution mode can enforce. */
export interface ResourceLimits {
  /** Heap limit of the plugin's JavaScript (old generation), in MiB. */
  readonly maxHeapMb: number | undefined;
  /** ArrayBuffer/Buffer memory the plugin may hold, in MiB, sampled with each heartbeat. */
  readonly maxArrayBufferMb: number | undefined;
}

/**
 * After the plugin's `stop()` returned: how long its thread or process has to end by itself
 * (the guest ends it once its pipe closes or its stop has replied) before it is ended and the
 * stop fails (RELIABILITY F5, exit blocked).
 */
export const EXIT_DEADLINE_MS = 2_000;

/** Whether `exit` (a guest's end) comes within EXIT_DEADLINE_MS; the timer is cleared either way. */
export async function exitsInTime(exit: Promise<void>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, EXIT_DEADLINE_MS);
  });
  try {
    return await Promise.race([exit.then(() => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fault raised by a generation's `start` or `stop`, carrying its cause. */
export class GenerationFault extends Error {
  readonly fault: Fault;
  /**
   * What the plugin threw, when it threw (cause `threw`): the `cause` of the error the
   * application gets (`StartupFailed`, `TeardownFailed`); undefined otherwise.
   */
  readonly thrown: unknown;
  constructor(fault: Fault, thrown?: unknown) {
    super(fault.detail ?? fault.cause);
    this.name = 'GenerationFault';
    this.fault = fault;
    this.thrown = thrown;
  }
}

/**
 * One launched generation of a plugin, as the runtime drives it. The runtime owns
 * ordering, deadlines and the pending-input table; the session only executes.
 *
 * - `start` resolves once the plugin's `start()` resolved (and, out of thread, the guest
 *   acknowledged); it rejects with a {@link GenerationFault}.
 * - `deliver` hands one input over and calls `settle` once the plugin settled it: at most
 *   once per input, and never from inside `deliver` itself. The runtime never relies on it
 *   settling after the generation died: it settles its own table on loss.
 * - `stop` asks the plugin to stop after the inputs already delivered; rejects with a
 *   {@link GenerationFault}.
 * - `dispose` ends the generation now (terminate, kill), idempotently. After it, nothing the
 *   session reports is delivered.
 */
export interface GenerationSession {
  readonly transport: TransportKind;
  /** How many inputs the runtime may hand over before the first settles. */
  readonly maxInFlight: number;
  /**
   * Whether another input may be handed over now, below maxInFlight (absent: always). A
   * stream that carries frames ahead of a stop request limits the bytes it holds this way:
   * what the runtime keeps queued, a stop drops at once; what was handed over must cross.
   */
  hasRoom?(): boolean;
  start(): Promise<void>;
  deliver(input: Delivery, settle: DeliverySettle): void;
  stop(): Promise<void>;
  /**
   * Called when the generation ends, before `dispose`: stops the guest from starting any
   * further delivery and returns the `seq` of deliveries it never started (the runtime gives
   * them to the next generation instead of declaring them lost) and the results of those it
   * finished whose outcome had not been applied yet. Optional: without it, every unsettled
   * delivery of a dead generation is lost.
   */
  fence?(): { readonly unstarted: readonly number[]; readonly completed: ReadonlyMap<number, DeliveryResult> };
  /**
   * Called when a stop is asked, before `stop`: stops the guest from starting any further
   * delivery, forgets those it has not started, and returns their `seq` (the runtime drops
   * them, `stopped`, as it drops what it still queues). Inputs handed over ahead of the
   * plugin then wait no more for `stop` than those queued on the host's side. Optional:
   * without it, every delivery handed over runs before the plugin's `stop()`.
   */
  revokeUnstarted?(): readonly number[];
  dispose(): void;
}

/**
 * An execution mode. An adapter is the only code that knows where a plugin runs.
 */
export interface Adapter {
  readonly mode: Mode;
  /** Liveness deadline the runtime should enforce, in ms; 0 when the adapter has no heartbeat. */
  readonly heartbeatMs: number;
  /** Launches a generation. Must not throw: launch failures surface through `start()`. */
  launch(request: LaunchRequest): GenerationSession;
  /** The frame pool of one instance, shared by its generations. */
  createFramePool(options: { readonly slots: number; readonly slotBytes: number; readonly poisonReleased: boolean }): FramePool;
  /** How frames from `pool` (one of this adapter's) will reach the plugin: `status.transport` before a generation says. */
  transportOf(pool: FramePool): TransportKind;
}
