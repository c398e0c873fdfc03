/**
 * A share of one turn of the host's event loop: opened by the first piece of work of a turn,
 * closed when the loop reaches its check phase (`setImmediate`), i.e. once it has turned.
 * Work fed from outcomes chains microtasks or reads without ever letting the loop turn; one
 * that measures what it spent of the turn can give way (EVENT_LOOP_TURN_MS) before it holds
 * the host's timers and I/O off.
 *
 * @example
 * ```ts
 * const turn = new TurnBudget();
 * turn.begin();
 * while (work.length > 0) {
 *   if (turn.spent() >= EVENT_LOOP_TURN_MS) {
 *     await turn.next(); // the loop turned: a new turn, a new budget
 *     turn.begin();
 *   }
 *   work.shift()?.();
 * }
 * ```
 */
export class TurnBudget {
  #open = false;
  #startedAt = 0;
  #next: Promise<void> | undefined;
  #resolveNext: (() => void) | undefined;
  readonly #now: () => number;

  /** `now`: ms, `performance.now` unless a test drives it. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Opens a turn unless one is open (`now`: the clock, read already); true when this call opened it. */
  begin(now?: number): boolean {
    if (this.#open) return false;
    this.#open = true;
    this.#startedAt = now ?? this.#now();
    setImmediate(() => {
      this.#open = false;
      const resolve = this.#resolveNext;
      this.#next = undefined;
      this.#resolveNext = undefined;
      resolve?.();
    });
    return true;
  }

  /** When the open turn began (ms of the clock). */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** ms since the open turn began. */
  spent(): number {
    return this.#now() - this.#startedAt;
  }

  /** Resolves when the open turn closes (opens one if none is). */
  next(): Promise<void> {
    this.begin();
    this.#next ??= new Promise<void>((resolve) => {
      this.#resolveNext = resolve;
    });
    return this.#next;
  }
}
