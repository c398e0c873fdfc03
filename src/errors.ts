/**
 * Named errors of plugin-seam. Every error the runtime hands to an application is a
 * {@link PluginSeamError}: it has a stable `name`, a machine-readable `code`, the `cause`
 * that produced it, the plugin instance and the `generation` it belongs to (0 when no
 * generation was involved).
 *
 * This module is a leaf: the plugin contract, the runtime and every adapter import it, and
 * it imports nothing of ours.
 */

/**
 * Why a generation failed, whatever its failure class. The same cause names are used in
 * every mode; an adapter that cannot observe a cause simply never reports it.
 *
 * - `threw`: the plugin threw or rejected (in `start`, `stop`, or, by policy, an input).
 * - `timeout`: a declared deadline (start, stop) passed.
 * - `cancelled`: a stop was requested while the generation was still starting.
 * - `exit`: the worker or process exited by itself (any code, including 0).
 * - `signal`: the process was ended by a signal.
 * - `oom`: the plugin ran out of memory.
 * - `unresponsive`: a heartbeat or a per-input budget was missed.
 * - `protocol`: the plugin broke the wire or shared-memory protocol.
 * - `spawn`: the worker or process could not be created.
 * - `version`: the guest speaks another protocol version.
 * - `terminate_hung`: forcing the plugin to end did not complete.
 * - `channel_closed`: the control channel closed while the plugin still ran.
 */
export type FailureCause =
  | 'threw'
  | 'timeout'
  | 'cancelled'
  | 'exit'
  | 'signal'
  | 'oom'
  | 'unresponsive'
  | 'protocol'
  | 'spawn'
  | 'version'
  | 'terminate_hung'
  | 'channel_closed';

/** The three failure classes of the contract. */
export type FailureClass = 'startup' | 'lost' | 'teardown';

/** Options shared by every named error. */
export interface PluginSeamErrorOptions {
  /** The underlying error or reason, kept for diagnostics. */
  readonly cause?: unknown;
  /** The generation this error belongs to; 0 when none was involved. */
  readonly generation?: number;
  /** The plugin instance id, when known. */
  readonly instanceId?: string;
}

/**
 * Base class of every error plugin-seam raises.
 *
 * @example
 * ```ts
 * try { await p.send({ kind: 'export' }); }
 * catch (e) {
 *   if (e instanceof PluginSeamError) console.log(e.code, e.generation);
 * }
 * ```
 */
export class PluginSeamError extends Error {
  /** A stable, machine-readable code, e.g. `ERR_LOST_WHILE_RUNNING`. */
  readonly code: string;
  /** The generation this error belongs to; 0 when none was involved. */
  readonly generation: number;
  /** The plugin instance id, when known. */
  readonly instanceId: string | undefined;

  constructor(code: string, message: string, options: PluginSeamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.generation = options.generation ?? 0;
    this.instanceId = options.instanceId;
  }
}

/** Options of an error that reports a failed generation. */
export interface FailureErrorOptions extends PluginSeamErrorOptions {
  /** What failed: a {@link FailureCause}. */
  readonly failureCause: FailureCause;
  /** Human-readable detail (an error message, an exit code, a log tail). */
  readonly detail?: string;
}

/** Common shape of the three lifecycle failure errors. */
export abstract class LifecycleFailure extends PluginSeamError {
  /** The failure class this error reports. */
  abstract readonly failureClass: FailureClass;
  /** Why the generation failed. */
  readonly failureCause: FailureCause;
  /** Human-readable detail, when there is one. */
  readonly detail: string | undefined;

  constructor(code: string, message: string, options: FailureErrorOptions) {
    super(code, message, options);
    this.failureCause = options.failureCause;
    this.detail = options.detail;
  }
}

/** The plugin could not start (`startup` failure class). */
export class StartupFailed extends LifecycleFailure {
  readonly failureClass = 'startup' as const;
  constructor(options: FailureErrorOptions) {
    super('ERR_STARTUP_FAILED', describe('could not start', options), options);
  }
}

/** The plugin was lost while running (`lost` failure class). */
export class LostWhileRunning extends LifecycleFailure {
  readonly failureClass = 'lost' as const;
  constructor(options: FailureErrorOptions) {
    super('ERR_LOST_WHILE_RUNNING', describe('lost while running', options), options);
  }
}

/** The plugin failed during teardown (`teardown` failure class). */
export class TeardownFailed extends LifecycleFailure {
  readonly failureClass = 'teardown' as const;
  constructor(options: FailureErrorOptions) {
    super('ERR_TEARDOWN_FAILED', describe('failed during teardown', options), options);
  }
}

/**
 * `frame.data` was read after the `onFrame` call that received the frame had settled.
 * A `FrameView` is valid from the call of `onFrame` until the promise it returns settles.
 */
export class FrameExpired extends PluginSeamError {
  /** The sequence number of the expired frame. */
  readonly seq: number;
  constructor(seq: number, generation: number) {
    super(
      'ERR_FRAME_EXPIRED',
      `frame ${seq} of generation ${generation} was used after its onFrame call settled; copy what you need to keep`,
      { generation },
    );
    this.seq = seq;
  }
}

/** The plugin threw (or rejected) while handling one input. The instance stays up. */
export class InputFailed extends PluginSeamError {
  /** The sequence number of the input. */
  readonly seq: number;
  constructor(seq: number, options: PluginSeamErrorOptions) {
    super('ERR_INPUT_FAILED', `the plugin failed while handling input ${seq}: ${messageOf(options.cause)}`, options);
    this.seq = seq;
  }
}

/** The input was accepted, then dropped (overflow policy, or the instance stopped first). */
export class InputDropped extends PluginSeamError {
  /** The sequence number of the input. */
  readonly seq: number;
  /** Why it was dropped. */
  readonly reason: string;
  constructor(seq: number, reason: string, options: PluginSeamErrorOptions = {}) {
    super('ERR_INPUT_DROPPED', `input ${seq} was dropped: ${reason}`, options);
    this.seq = seq;
    this.reason = reason;
  }
}

/** The input was not accepted: the instance does not take inputs in its current state, or it is invalid. */
export class InputRefused extends PluginSeamError {
  /** Why it was refused. */
  readonly reason: string;
  constructor(reason: string, options: PluginSeamErrorOptions = {}) {
    super('ERR_INPUT_REFUSED', `input refused: ${reason}`, options);
    this.reason = reason;
  }
}

/** A lifecycle call is not possible in the instance's current state. */
export class InvalidState extends PluginSeamError {
  /** The state the instance was in. */
  readonly state: string;
  constructor(operation: string, state: string, options: PluginSeamErrorOptions = {}) {
    super('ERR_INVALID_STATE', `cannot ${operation} while ${state}`, options);
    this.state = state;
  }
}

/** The instance spent its restart budget and is now terminally failed. */
export class RestartBudgetExhausted extends PluginSeamError {
  constructor(options: PluginSeamErrorOptions) {
    super('ERR_RESTART_BUDGET_EXHAUSTED', 'the restart budget is exhausted; the instance stays failed until started again', options);
  }
}

/** A start was cancelled because a stop was requested before the plugin became ready. */
export class StartCancelled extends PluginSeamError {
  constructor(options: PluginSeamErrorOptions) {
    super('ERR_START_CANCELLED', 'start was cancelled by a stop request', options);
  }
}

/** Options passed to `createRuntime` or `runtime.load` are invalid. */
export class InvalidOptions extends PluginSeamError {
  constructor(message: string, options: Pick<PluginSeamErrorOptions, 'cause' | 'instanceId'> = {}) {
    super('ERR_INVALID_OPTIONS', message, options);
  }
}

/** The plugin module does not export a valid plugin definition. */
export class InvalidPlugin extends PluginSeamError {
  constructor(message: string, options: PluginSeamErrorOptions = {}) {
    super('ERR_INVALID_PLUGIN', message, options);
  }
}

/** The runtime was shut down; the instance no longer exists. */
export class RuntimeShutDown extends PluginSeamError {
  constructor(options: PluginSeamErrorOptions = {}) {
    super('ERR_RUNTIME_SHUT_DOWN', 'the runtime has shut down', options);
  }
}

function describe(what: string, options: FailureErrorOptions): string {
  const who = options.instanceId === undefined ? 'plugin' : `plugin "${options.instanceId}"`;
  const gen = options.generation === undefined ? '' : ` (generation ${options.generation})`;
  const detail = options.detail === undefined ? '' : `: ${options.detail}`;
  return `${who}${gen} ${what} [${options.failureCause}]${detail}`;
}

/** A one-line description of any thrown value, for messages and `detail` fields. */
export function messageOf(value: unknown): string {
  // Never throws: the value may be a plugin's (inline, as it was thrown), with getters,
  // proxies or conversions that throw, and a description must not take the host down.
  let isError = false;
  try {
    isError = value instanceof Error;
  } catch {
    // A revoked Proxy (or a trap that throws): described below as what it is not.
  }
  if (isError) return `${describeField(value as Error, 'name')}: ${describeField(value as Error, 'message')}`;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    try {
      return String(value);
    } catch {
      return `[${typeof value}]`;
    }
  }
}

/** `error[key]` as a string, or a placeholder when reading or converting it throws. */
function describeField(error: Error, key: 'name' | 'message'): string {
  try {
    // Typed as a string; a plugin's error may hold anything there (a symbol, an object).
    const value: unknown = error[key];
    return String(value);
  } catch {
    return `[unreadable ${key}]`;
  }
}
