import { messageOf } from '../../errors.js';
import { createFrameView, expireFrameView } from '../../plugin/createFrameView.js';
import type { FrameView, LogLevel, PluginContext, PluginDefinition, PluginLogger } from '../../plugin/types.js';
import type { Delivery, DeliveryResult } from '../Adapter.js';
import { DELIVERY_DONE } from '../Adapter.js';
import { GUEST_CHANNEL_MAX_LENGTH, GUEST_LOG_MAX_LENGTH } from '../protocol.js';

/** Ends a log line cut to GUEST_LOG_MAX_LENGTH. */
const LOG_CUT_MARK = ' … (cut)';

/**
 * What {@link PluginRunner.startNow} returns when the plugin's callback returned a primitive:
 * the outcome is waiting for {@link PluginRunner.finishNow}.
 */
export const RAN_SYNC: unique symbol = Symbol('ran synchronously');

/** Where a runner sends what the plugin emits and logs. */
export interface RunnerSink {
  /**
   * Must take its copy of `value` synchronously (structured clone semantics) and throw
   * `DataCloneError` when it cannot, so the plugin's `emit` fails the same way in every mode.
   */
  output(channel: string, value: unknown, inputSeq: number | undefined): void;
  log(level: LogLevel, message: string): void;
}

/**
 * Runs one generation of a plugin definition, on whatever thread or process the adapter
 * chose. Every mode's guest goes through this class, so the contract's rules are enforced
 * by one piece of code: calls are serialised (start, then inputs one at a time in order,
 * then stop), a frame's bytes expire when its `onFrame` settles, and `ctx.signal` aborts
 * when the generation ends. Copying values across the boundary is the sink's and the
 * session's job (structured clone inline, postMessage out of thread), so nothing is
 * copied twice.
 */
export class PluginRunner {
  readonly #definition: PluginDefinition;
  readonly #sink: RunnerSink;
  readonly #abort = new AbortController();
  readonly #context: PluginContext;
  /** The tail of the serial call chain; each call waits for the previous one to settle. */
  #tail: Promise<unknown> = Promise.resolve();
  /** Calls handed in and not settled yet (queued on the chain or running). */
  #unsettled = 0;
  #current: number | undefined;
  /** An input {@link startNow} ran synchronously waits for {@link finishNow}: its frame, its value. */
  #syncPending = false;
  #syncView: FrameView | undefined;
  #syncValue: unknown;
  /** Resolves the tail that calls chained behind that input wait for (see #serial). */
  #syncFinished: (() => void) | undefined;

  constructor(definition: PluginDefinition, options: { generation: number; config: unknown; sink: RunnerSink }) {
    this.#definition = definition;
    this.#sink = options.sink;
    const log = (level: LogLevel) => (message: string) => {
      // Plugins may be plain JavaScript: coerce whatever arrives into one line of text.
      const text: unknown = message;
      const line = typeof text === 'string' ? text : messageOf(text);
      // Bounded as an isolated child's host requires, in every mode alike.
      this.#sink.log(level, line.length > GUEST_LOG_MAX_LENGTH ? line.slice(0, GUEST_LOG_MAX_LENGTH - LOG_CUT_MARK.length) + LOG_CUT_MARK : line);
    };
    const logger: PluginLogger = Object.freeze({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') });
    this.#context = Object.freeze({
      generation: options.generation,
      config: options.config,
      signal: this.#abort.signal,
      log: logger,
      emit: (channel: string, value: unknown) => {
        if (typeof channel !== 'string' || channel.length === 0) {
          throw new TypeError('emit(channel, value): channel must be a non-empty string');
        }
        if (channel.length > GUEST_CHANNEL_MAX_LENGTH) {
          throw new RangeError(`emit(channel, value): channel has ${channel.length} characters, above ${GUEST_CHANNEL_MAX_LENGTH}`);
        }
        // The sink copies now, in every mode: the plugin may reuse its object, and a value
        // that could not cross a thread or a process fails here, identically everywhere.
        this.#sink.output(channel, value, this.#current);
      },
    });
  }

  /** The context handed to every callback. */
  get context(): PluginContext {
    return this.#context;
  }

  /** Calls the plugin's `start`. Rejects with what it threw. */
  start(): Promise<void> {
    return this.#serial(async () => {
      await this.#definition.start?.(this.#context);
    });
  }

  /**
   * Hands one input to the plugin; settles once the plugin settled it. Never rejects. A
   * message's result is returned as is: the session copies it across.
   */
  handle(input: Delivery): Promise<DeliveryResult> {
    return this.#serial(() => this.#invoke(input));
  }

  /**
   * The guest's delivery loop's way in (it hands over the next input only after the previous
   * one settled). When no call is ahead, the plugin is called before this returns, not on the
   * serial chain, which cost several microtasks and promises per input; inline mode keeps
   * {@link handle}, so plugin code never runs inside the application's own `next()`.
   *
   * When the callback returned a primitive (a synchronous `onFrame`, an `onMessage` replying
   * with a string or a number), there is nothing to await: this returns {@link RAN_SYNC}, and
   * the caller lets the microtask queue turn once, as the `await` of that value would have,
   * then takes the outcome from {@link finishNow} — microtasks the callback queued run first,
   * with its frame still valid and their outputs still counted to the input (a microtask those
   * queue in turn runs once the next input has started, and its output counts to that one: see
   * `PluginOutput.inputSeq`). Without the `async` call and its awaits an input costs ~70 ns and
   * ~500 bytes of garbage less. A throw, a promise or any object result is awaited as before
   * (`await` reads an object's `then` once; a check here would read it twice).
   */
  startNow(input: Delivery): typeof RAN_SYNC | Promise<DeliveryResult> {
    if (this.#unsettled > 0) return this.handle(input);
    this.#unsettled += 1;
    this.#current = input.seq;
    let view: FrameView | undefined;
    let returned: unknown;
    try {
      if (input.kind === 'frame') {
        view = createFrameView(input.seq, this.#context.generation, input.meta, input.data);
        returned = this.#definition.onFrame?.(view, this.#context);
      } else {
        returned = this.#definition.onMessage?.(input.message, this.#context);
      }
    } catch (error) {
      this.#release(view);
      const failed = Promise.resolve<DeliveryResult>({ ok: false, error });
      this.#tail = failed;
      return failed;
    }
    if (returned !== null && (typeof returned === 'object' || typeof returned === 'function')) {
      const awaited = this.#awaitReturned(returned, view);
      this.#tail = awaited;
      return awaited;
    }
    this.#syncPending = true;
    this.#syncView = view;
    this.#syncValue = view === undefined ? returned : undefined;
    return RAN_SYNC;
  }

  /**
   * The outcome of the input {@link startNow} ran synchronously, once the microtask queue
   * has turned: its frame expires now.
   * @throws Error when no input is waiting for it.
   */
  finishNow(): DeliveryResult {
    if (!this.#syncPending) throw new Error('PluginRunner.finishNow: no input ran synchronously');
    const view = this.#syncView;
    const value = this.#syncValue;
    this.#syncPending = false;
    this.#syncView = undefined;
    this.#syncValue = undefined;
    this.#release(view);
    const finished = this.#syncFinished;
    this.#syncFinished = undefined;
    finished?.();
    return view === undefined ? { ok: true, value } : DELIVERY_DONE;
  }

  /** Awaits what a callback returned (see {@link startNow}); never rejects. */
  async #awaitReturned(returned: unknown, view: FrameView | undefined): Promise<DeliveryResult> {
    try {
      const value: unknown = await returned;
      return view === undefined ? { ok: true, value } : DELIVERY_DONE;
    } catch (error) {
      return { ok: false, error };
    } finally {
      this.#release(view);
    }
  }

  /** A call of {@link startNow} settled: its frame expires, and it counts out. */
  #release(view: FrameView | undefined): void {
    if (view !== undefined) expireFrameView(view);
    this.#current = undefined;
    this.#unsettled -= 1;
  }

  /** Aborts `ctx.signal`, then calls the plugin's `stop` after the inputs already handed in. */
  stop(): Promise<void> {
    this.#abort.abort(new Error('generation stopping'));
    return this.#serial(async () => {
      await this.#definition.stop?.(this.#context);
    });
  }

  /** Ends the generation without asking the plugin: aborts `ctx.signal`. Idempotent. */
  abort(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error('generation ended'));
  }

  /**
   * Calls `input`'s callback and settles with its outcome, never rejecting. Microtasks the
   * plugin queued during a synchronous call still run before the frame expires and before the
   * outcome is known: the callback's result is awaited either way.
   */
  async #invoke(input: Delivery): Promise<DeliveryResult> {
    this.#current = input.seq;
    try {
      if (input.kind === 'frame') {
        const view = createFrameView(input.seq, this.#context.generation, input.meta, input.data);
        try {
          await this.#definition.onFrame?.(view, this.#context);
        } finally {
          expireFrameView(view);
        }
        return DELIVERY_DONE;
      }
      const value: unknown = await this.#definition.onMessage?.(input.message, this.#context);
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error };
    } finally {
      this.#current = undefined;
    }
  }

  #serial<T>(call: () => Promise<T>): Promise<T> {
    // Behind an input startNow ran synchronously: a promise to wait for, made only now.
    if (this.#syncPending && this.#syncFinished === undefined) {
      this.#tail = new Promise<void>((resolve) => {
        this.#syncFinished = resolve;
      });
    }
    this.#unsettled += 1;
    const result = this.#tail.then(call);
    // The tail never rejects; settling it counts the call out (one promise per call, as the
    // chain always took).
    this.#tail = result.then(this.#callSettled, this.#callSettled);
    return result;
  }

  readonly #callSettled = (): void => {
    this.#unsettled -= 1;
  };
}
