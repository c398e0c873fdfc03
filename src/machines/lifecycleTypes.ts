import type { FailureCause, FailureClass } from '../errors.js';

/** Where a plugin instance executes. */
export type Mode = 'inline' | 'embedded' | 'isolated';

/** The lifecycle states of the contract, the same story in every mode. */
export type LifecycleState = 'loaded' | 'starting' | 'started' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What a generation reported when it went wrong (before it is classified). */
export interface Fault {
  readonly cause: FailureCause;
  readonly detail?: string;
  /** Exit code, when a worker or process exited. */
  readonly exitCode?: number;
  /** Signal name, when a process was signalled. */
  readonly signal?: string;
}

/** A classified failure of one generation. */
export interface Failure extends Fault {
  readonly class: FailureClass;
  readonly generation: number;
}

/**
 * When to restart a generation that was lost or could not start.
 * - `permanent`: always (within the budget).
 * - `transient`: unless the plugin exited by itself with code 0.
 * - `never`: never; the first failure is terminal.
 */
export type RestartPolicy = 'permanent' | 'transient' | 'never';

/** Exponential backoff with jitter between restarts. */
export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** Fraction of the delay randomised either way, 0..1. */
  readonly jitter: number;
}

/** An OTP-style intensity: at most `maxRestarts` within `withinMs`. */
export interface RestartBudget {
  readonly maxRestarts: number;
  readonly withinMs: number;
}

/** Fully resolved supervision settings (every field present). */
export interface SupervisionSettings {
  readonly policy: RestartPolicy;
  /** Budget for restarts after a `lost` failure. */
  readonly intensity: RestartBudget;
  /** Separate, usually stricter budget for restarts after a `startup` failure. */
  readonly startup: RestartBudget;
  readonly backoff: BackoffSettings;
  /** Running this long without a failure resets the backoff to its initial delay. */
  readonly resetAfterMs: number;
  /** `restart`: a plugin that throws on an input loses its generation. `continue`: it is an input error only. */
  readonly onInputError: 'continue' | 'restart';
}

/** Fully resolved deadlines, in milliseconds. */
export interface LifecycleTimeouts {
  readonly start: number;
  readonly stop: number;
  /** Heartbeat deadline; 0 when the adapter has no heartbeat (inline). */
  readonly heartbeat: number;
}

/** Input of the lifecycle machine. */
export interface LifecycleInput {
  readonly id: string;
  readonly mode: Mode;
  readonly timeouts: LifecycleTimeouts;
  readonly supervision: SupervisionSettings;
  /** Seed of the jitter generator, so a run is reproducible. */
  readonly seed: number;
}

/** What the invoked generation actor receives as input. */
export interface GenerationInput {
  readonly id: string;
  readonly mode: Mode;
  readonly generation: number;
}

/** Events the generation actor sends back to the lifecycle machine. */
export type GenerationReport =
  | { readonly type: 'gen.ready'; readonly generation: number }
  | { readonly type: 'gen.startFailed'; readonly generation: number; readonly fault: Fault }
  | { readonly type: 'gen.lost'; readonly generation: number; readonly fault: Fault }
  | { readonly type: 'gen.stopped'; readonly generation: number }
  | { readonly type: 'gen.stopFailed'; readonly generation: number; readonly fault: Fault }
  /** `heapShare`: the guest's JavaScript heap in use as a share of `limits.maxHeapMb`, when there is one. */
  | { readonly type: 'gen.heartbeat'; readonly generation: number; readonly heapShare?: number }
  | { readonly type: 'gen.inputFailed'; readonly generation: number; readonly detail: string };

/** Events the application (through the runtime) sends to the lifecycle machine. */
export type LifecycleCommand =
  | { readonly type: 'start' }
  | { readonly type: 'run' }
  | { readonly type: 'pause' }
  | { readonly type: 'stop' };

/** Events the machine schedules for itself (timers read from context). */
export type LifecycleTimerEvent =
  /** `heapShare`: the heap share the last heartbeat reported (see `gen.heartbeat`). */
  | { readonly type: 'heartbeat.expired'; readonly generation: number; readonly heapShare?: number }
  | { readonly type: 'backoff.elapsed' }
  | { readonly type: 'stable.reached' }
  | { readonly type: 'window.expired'; readonly budget: 'lost' | 'startup'; readonly epoch: number; readonly window: number };

/** What a `timer` actor of the machine is given: the event it sends back once `ms` passed. */
export interface TimerInput {
  readonly ms: number;
  readonly event: LifecycleTimerEvent;
}

/** Every event the lifecycle machine accepts. */
export type LifecycleEvent = LifecycleCommand | GenerationReport | LifecycleTimerEvent;

/** What the machine sends to the invoked generation actor. */
export type GenerationCommand = { readonly type: 'stop' };
