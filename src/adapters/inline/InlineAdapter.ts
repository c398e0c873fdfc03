import { thrownDetail } from '../thrownDetail.js';
import type { Adapter, Delivery, DeliveryResult, DeliverySettle, GenerationSession, LaunchRequest, TransportKind } from '../Adapter.js';
import { EVENT_LOOP_TURN_MS, GenerationFault } from '../Adapter.js';
import { TurnBudget } from '../TurnBudget.js';
import { PluginRunner } from '../guest/PluginRunner.js';
import { loadPluginDefinition } from '../guest/loadPluginDefinition.js';
import type { FramePool } from '../../transport/FramePool.js';
import { HeapFramePool } from '../../transport/HeapFramePool.js';
import { copyValue } from '../copyValue.js';
import { uncloneableFailure } from '../protocol.js';
import { SeqMap } from '../../transport/SeqMap.js';

/**
 * `inline` mode: the plugin runs on the host's own thread through direct calls.
 *
 * Cheapest path, no isolation: a plugin that blocks the thread blocks the host, and a
 * crash is the host's crash. What it keeps identical to the other modes: one generation
 * per launch, serialised calls, payload lifetime, cloned values, fencing of late output.
 * Known difference: a module is evaluated once per host, so module-level state outlives a
 * generation (and is shared between inline instances of the same module).
 */
export class InlineAdapter implements Adapter {
  readonly mode = 'inline' as const;
  readonly heartbeatMs = 0;

  launch(request: LaunchRequest): GenerationSession {
    return new InlineSession(request);
  }

  createFramePool(options: { readonly slots: number; readonly slotBytes: number; readonly poisonReleased: boolean }): FramePool {
    return new HeapFramePool({ capacity: options.slots, poisonReleased: options.poisonReleased });
  }

  transportOf(_pool: FramePool): TransportKind {
    return 'direct';
  }
}

/**
 * The host's current turn of its event loop, as inline instances count it. One for the
 * thread, not one per instance: 30 inline instances fed from their outcomes each kept within
 * their own 4 ms, and held the host's loop ~125 ms.
 */
const hostTurn = new TurnBudget();

class InlineSession implements GenerationSession {
  readonly transport = 'direct' as const;
  readonly maxInFlight = 1;
  readonly #request: LaunchRequest;
  #runner: PluginRunner | undefined;
  #disposed = false;
  /** The host turn this instance's inputs wait for (every later one too, to keep their order). */
  #deferredTurn: Promise<void> | undefined;
  /** Inputs waiting for #deferredTurn; it is dropped when the last of them has had it. */
  #deferredCount = 0;
  /** Inputs handed over but waiting for a turn: not started, so a fence gives them back. */
  readonly #waitingTurn = new SeqMap<true>();
  #fenced = false;

  constructor(request: LaunchRequest) {
    this.#request = request;
  }

  async start(): Promise<void> {
    let definition;
    try {
      definition = await loadPluginDefinition(this.#request.module);
    } catch (error) {
      throw new GenerationFault({ cause: 'threw', detail: thrownDetail(error) }, error);
    }
    if (this.#disposed) throw new GenerationFault({ cause: 'cancelled', detail: 'generation ended before start' });
    const { sink, generation } = this.#request;
    // Config, outputs and results are cloned as they would be across a thread: the plugin
    // cannot mutate the caller's objects, and what cannot cross a thread fails here too.
    const runner = new PluginRunner(definition, {
      generation,
      config: structuredClone(this.#request.config),
      sink: {
        output: (channel, value, inputSeq) => {
          sink.output(channel, copyValue(value), inputSeq);
        },
        log: (level, message) => {
          sink.log(level, message);
        },
      },
    });
    this.#runner = runner;
    try {
      await runner.start();
    } catch (error) {
      throw new GenerationFault({ cause: 'threw', detail: thrownDetail(error) }, error);
    }
  }

  deliver(input: Delivery, settle: DeliverySettle): void {
    // Inputs fed from outcomes chain microtasks on the host's own thread: past
    // EVENT_LOOP_TURN_MS without a turn of the event loop — counted for every inline
    // instance together, the thread's budget — the next input waits for one.
    const now = performance.now();
    hostTurn.begin(now);
    if (this.#deferredTurn === undefined && now - hostTurn.startedAt >= EVENT_LOOP_TURN_MS) this.#deferredTurn = hostTurn.next();
    const waitFor = this.#deferredTurn;
    if (waitFor === undefined) {
      this.#run(input, settle);
      return;
    }
    this.#deferredCount += 1;
    this.#waitingTurn.set(input.seq, true);
    void waitFor.then(() => {
      this.#deferredCount -= 1;
      if (this.#deferredCount === 0) this.#deferredTurn = undefined;
      // Handed back by the fence, or the generation ended meanwhile: never started.
      if (!this.#waitingTurn.delete(input.seq) || this.#fenced || this.#disposed) return;
      this.#run(input, settle);
    });
  }

  #run(input: Delivery, settle: DeliverySettle): void {
    const seq = input.seq;
    if (this.#runner === undefined) {
      queueMicrotask(() => {
        settle(seq, { ok: false, error: new Error('generation not started') });
      });
      return;
    }
    // Messages were cloned when the runtime accepted them, as in every mode.
    void this.#runner.handle(input).then((result) => {
      if (!result.ok) {
        settle(seq, { ok: false, error: inlineFailure(seq, result.error) });
        return;
      }
      if (result.value === undefined) {
        settle(seq, result);
        return;
      }
      try {
        settle(seq, { ok: true, value: copyValue(result.value) });
      } catch (error) {
        settle(seq, { ok: false, error });
      }
    });
  }

  async stop(): Promise<void> {
    if (this.#runner === undefined) return;
    // Inputs handed over before stop() run before the plugin's stop, as in every mode: those
    // waiting for the event loop's turn reach the runner's queue when it comes.
    if (this.#waitingTurn.size > 0) await this.#deferredTurn;
    try {
      await this.#runner.stop();
    } catch (error) {
      throw new GenerationFault({ cause: 'threw', detail: thrownDetail(error) }, error);
    }
  }

  /** Inputs still waiting for the event loop's turn never started: the next generation gets them. */
  fence(): { readonly unstarted: readonly number[]; readonly completed: ReadonlyMap<number, DeliveryResult> } {
    this.#fenced = true;
    const unstarted = this.#waitingTurn.keys();
    this.#waitingTurn.clear();
    return { unstarted, completed: new Map() };
  }

  dispose(): void {
    this.#disposed = true;
    this.#runner?.abort();
  }
}

/**
 * A thrown value as an inline input's failure carries it. An Error is kept as it is (its class
 * and fields, richer than out of thread, where they are rebuilt from what crosses); anything
 * else crosses as out of thread: a copy, or, when it cannot be cloned (a symbol), the same
 * "cannot be cloned" Error.
 */
function inlineFailure(seq: number, thrown: unknown): unknown {
  let isError: boolean;
  try {
    isError = thrown instanceof Error;
  } catch (error) {
    // A revoked Proxy, or one whose getPrototypeOf trap throws: it cannot cross a thread either.
    return uncloneableFailure(seq, error);
  }
  if (isError) return thrown;
  try {
    return copyValue(thrown);
  } catch (error) {
    return uncloneableFailure(seq, error);
  }
}
