// The client side of one instance in the nemesis run: every frame and message it submits
// goes through here, numbered as the runtime numbers them (one sequence per instance, shared
// by frames and messages: the contract's `seq`), and recorded with its outcome.
import { Subject } from 'rxjs';
import type { Subscription } from 'rxjs';
import { InputDropped, InputFailed, InputRefused, LostWhileRunning, RestartBudgetExhausted } from 'plugin-seam';
import type { FrameInput, PluginInstance } from 'plugin-seam';
import type { History, OutcomeKind } from './History.js';

function outcomeOf(error: unknown): OutcomeKind | undefined {
  if (error instanceof InputRefused) return 'refused';
  if (error instanceof InputFailed) return 'failed';
  if (error instanceof InputDropped) return 'dropped';
  if (error instanceof LostWhileRunning || error instanceof RestartBudgetExhausted) return 'lost';
  return undefined;
}

/**
 * Submits frames (through one long-lived `connect()`) and messages to one instance, and
 * records each submission and each outcome.
 *
 * @example
 * ```ts
 * const client = new ClientLoad(p, history, 4_096);
 * client.frame();
 * client.message({ op: 'echo', value: 1 });
 * await client.close(5_000);
 * ```
 */
export class ClientLoad {
  /** Rejections that were no input outcome (each one is a bug). */
  readonly unexpected: string[] = [];
  readonly #p: PluginInstance;
  readonly #history: History;
  readonly #frames = new Subject<FrameInput>();
  readonly #outcomes: Subscription;
  readonly #completed: Promise<void>;
  readonly #pending = new Set<Promise<void>>();
  readonly #frameBytes: Uint8Array;
  #seq = 0;

  constructor(p: PluginInstance, history: History, frameBytes: number) {
    this.#p = p;
    this.#history = history;
    this.#frameBytes = new Uint8Array(frameBytes).fill(7);
    let complete: () => void = () => undefined;
    this.#completed = new Promise<void>((resolve) => {
      complete = resolve;
    });
    this.#outcomes = p.connect(this.#frames).subscribe({
      next: (outcome) => {
        const refused = outcome.kind === 'dropped' && outcome.reason?.startsWith('refused:') === true;
        this.#record('outcome', outcome.seq, refused ? 'refused' : outcome.kind, outcome.generation, outcome.reason);
      },
      error: (error: unknown) => {
        this.unexpected.push(`the frame outcome stream failed: ${String(error)}`);
        complete();
      },
      complete,
    });
  }

  /** Submits one frame (copied once by the runtime: the buffer is reused). */
  frame(): void {
    const input = ++this.#seq;
    this.#history.record({ instance: this.#p.id, generation: this.#generation(), kind: 'submit', input, what: 'frame' });
    this.#frames.next({ width: 64, height: this.#frameBytes.byteLength / 64, format: 'gray', timestamp: input, data: this.#frameBytes });
  }

  /** Sends one message and records its outcome when it settles. */
  message(message: Record<string, unknown>): void {
    const input = ++this.#seq;
    this.#history.record({ instance: this.#p.id, generation: this.#generation(), kind: 'submit', input, what: 'message' });
    const settled = this.#p.send(message).then(
      (reply) => {
        const of = (reply as { generation?: unknown } | null)?.generation;
        this.#record('outcome', input, 'done', typeof of === 'number' ? of : undefined);
      },
      (error: unknown) => {
        const kind = outcomeOf(error);
        if (kind === undefined) {
          this.unexpected.push(`input ${input} rejected with ${String(error)}`);
          return;
        }
        const of = (error as { generation?: unknown }).generation;
        this.#record('outcome', input, kind, typeof of === 'number' ? of : undefined, (error as Error).message);
      },
    );
    this.#pending.add(settled);
    void settled.finally(() => this.#pending.delete(settled));
  }

  /** Submissions so far. */
  get submitted(): number {
    return this.#seq;
  }

  /** Ends the frame stream and waits (bounded) until every submission has its outcome. */
  async close(withinMs: number): Promise<boolean> {
    this.#frames.complete();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, withinMs, false);
    });
    const all = Promise.all([this.#completed, ...this.#pending]).then(() => true as const);
    const settled = await Promise.race([all, bound]);
    clearTimeout(timer);
    this.#outcomes.unsubscribe();
    return settled;
  }

  #generation(): number {
    return this.#p.actor.getSnapshot().context.generation;
  }

  #record(kind: 'outcome', input: number, outcome: OutcomeKind, of: number | undefined, reason?: string): void {
    this.#history.record({
      instance: this.#p.id,
      generation: this.#generation(),
      kind,
      input,
      outcome,
      of,
      ...(reason === undefined ? {} : { reason }),
    });
  }
}
