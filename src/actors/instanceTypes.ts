import type { TransportKind } from '../adapters/Adapter.js';
import type { Failure, LifecycleState, Mode } from '../machines/lifecycleTypes.js';
import type { LogLevel } from '../plugin/types.js';

/**
 * The ledger of one instance. Conservation holds at every moment:
 * `accepted = done + failed + dropped + lost + queued + inFlight`.
 * Refused inputs were never accepted and are counted apart.
 */
export interface LedgerCounters {
  /** Inputs (frames and messages) accepted. */
  readonly accepted: number;
  /** Settled by the plugin. */
  readonly done: number;
  /** The plugin threw (or rejected) while handling them. */
  readonly failed: number;
  /** Dropped after acceptance (overflow policy, stop, terminal failure), each with a reason. */
  readonly dropped: number;
  /** Handed to a generation that died before settling them. */
  readonly lost: number;
  /** Accepted, waiting for delivery. */
  readonly queued: number;
  /** Handed to the plugin, not settled yet. */
  readonly inFlight: number;
  /** Not accepted (instance stopped or failed, invalid input, full message queue). */
  readonly refused: number;
  /** Outputs delivered to `outputs$`. */
  readonly outputs: number;
  /** Outputs, logs and replies from a generation that had already ended: dropped by the fence. */
  readonly stale: number;
}

/** The status of an instance, as `status$` publishes it. */
export interface PluginStatus {
  readonly id: string;
  readonly mode: Mode;
  readonly state: LifecycleState;
  /** The current (or last) generation; 0 before the first start. */
  readonly generation: number;
  /** The failure that put the instance in `failed`; absent in every other state. */
  readonly failure?: Failure;
  /** The most recent failure, kept after recovery. */
  readonly lastFailure?: Failure;
  /** Automatic restarts so far. */
  readonly restarts: number;
  /** In `failed`: whether a restart is scheduled, and after how long. */
  readonly restart?: { readonly scheduled: boolean; readonly delayMs: number; readonly exhausted: boolean };
  /**
   * Generations that could not be ended when they were disposed (class `teardown`, cause
   * `terminate_hung`) and are still running: one leaves the list when its thread or process
   * ends after all. Absent when none.
   */
  readonly lingering?: readonly Failure[];
  /** How frames reach the plugin in the current generation. */
  readonly transport: TransportKind;
  readonly counters: LedgerCounters;
}

/** A value the plugin emitted. */
export interface PluginOutput {
  readonly channel: string;
  readonly value: unknown;
  /** The generation that emitted it (always the current one when delivered). */
  readonly generation: number;
  /** Emission order within the instance, from 1, across generations. */
  readonly seq: number;
  /**
   * The input being handled when the plugin emitted it, if any. What a callback emits while it
   * runs, or from a microtask it queued, counts to its input and reaches the application
   * before that input's outcome, in every mode. What it emits later (from a timer, after an
   * `await` of real work, or from a microtask such a microtask queued) counts to whichever
   * input is being handled then: out of thread the next input starts one turn of the
   * microtask queue after a callback returns, inline a few turns later, so such an output
   * may count to the next input out of thread and to none inline.
   */
  readonly inputSeq?: number;
}

/** A log line of the plugin. */
export interface PluginLog {
  readonly level: LogLevel;
  readonly message: string;
  readonly generation: number;
}

/** The single outcome of one frame handed to `connect()`. */
export interface FrameOutcome {
  readonly seq: number;
  /** The generation that handled it; for a frame never delivered, the generation current when it settled. */
  readonly generation: number;
  readonly kind: 'done' | 'failed' | 'dropped' | 'lost';
  /** Why it failed, was dropped or lost. */
  readonly reason?: string;
}

/** A frame as the application hands it in; the runtime assigns `seq` and `generation`. */
export interface FrameInput {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly timestamp: number;
  /** The bytes. Copied once on submission unless this is a slot from `acquire()`. */
  readonly data: Uint8Array;
}

/**
 * A frame slot from `acquire()`: write the bytes into `data`, set the metadata, and hand
 * the slot to `connect()` — no copy is made. A slot is used once; `release()` gives an
 * unsubmitted slot back.
 */
export interface FrameSlot extends FrameInput {
  width: number;
  height: number;
  format: string;
  timestamp: number;
  /** Gives the slot back without submitting it. */
  release(): void;
}
