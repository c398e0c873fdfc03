/**
 * The plugin-facing contract: the only types a plugin author needs. Nothing here says how a
 * value travelled or where the plugin runs; if plugin code ever needs to ask "am I in a
 * thread or a process?", this contract is wrong.
 */

/**
 * A frame as the plugin sees it.
 *
 * Payload lifetime: `data` is valid from the moment `onFrame` is called until the promise
 * it returns settles — in every mode. Reading `data` afterwards throws `FrameExpired`;
 * a `Uint8Array` kept from an earlier read points at a recycled slot. Copy what you keep.
 */
export interface FrameView {
  /** Position of this input in the instance's submission order (shared with messages). */
  readonly seq: number;
  /** The generation handling this frame. */
  readonly generation: number;
  readonly width: number;
  readonly height: number;
  /** Pixel format, e.g. `rgba`, `gray`, `yuv420`; the runtime does not interpret it. */
  readonly format: string;
  /** Producer timestamp in milliseconds. */
  readonly timestamp: number;
  /** The frame's bytes; see the lifetime rule above. */
  readonly data: Uint8Array;
}

/** Severity of a plugin log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Log lines written by a plugin; they reach the application as `p.logs$`. */
export interface PluginLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * What every plugin callback receives.
 *
 * Values given to `emit` follow the payload rules: they are structured-cloned in every mode
 * (functions, symbols and class identity do not survive), so the plugin may reuse its own
 * object right after `emit` returns.
 */
export interface PluginContext<Config = unknown> {
  /** The generation of this launch: 1 on the first start, +1 on every restart. */
  readonly generation: number;
  /** The `config` given to `runtime.load`, structured-cloned. */
  readonly config: Config;
  /** Aborted when this generation is being stopped or has been lost. */
  readonly signal: AbortSignal;
  /** Send a value to the application on a named channel. Dropped once the generation has ended. */
  emit(channel: string, value: unknown): void;
  /** Write a log line. */
  readonly log: PluginLogger;
}

/**
 * The whole plugin: one lifecycle, one callback contract, whatever the mode.
 *
 * @typeParam Config - the shape of `ctx.config`.
 */
export interface PluginDefinition<Config = unknown> {
  /** A short name used in logs and diagnostics. */
  readonly name: string;
  /** Called once per generation, before any input. Throwing (or rejecting) is a startup failure. */
  start?(ctx: PluginContext<Config>): void | Promise<void>;
  /** Called for each frame, one input at a time, in submission order. */
  onFrame?(frame: FrameView, ctx: PluginContext<Config>): void | Promise<void>;
  /**
   * Called for each message, one input at a time, in submission order. What it returns
   * (structured-cloned) resolves the application's `send()`.
   */
  onMessage?(message: unknown, ctx: PluginContext<Config>): unknown;
  /** Called once when the application stops the instance. Throwing is a teardown failure. */
  stop?(ctx: PluginContext<Config>): void | Promise<void>;
}
