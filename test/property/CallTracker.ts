// Every call the model makes on an instance, with the outcome the application saw and the
// deadline by which it must have settled. Inputs get their deadline when the plugin begins
// them (the runtime arms the input budget no later than that); control calls when issued.
// The outcome kinds counted here are what the instance's ledger must add up to.
import type { Observable } from 'rxjs';
import {
  InputDropped,
  InputFailed,
  InputRefused,
  InvalidState,
  LostWhileRunning,
  RestartBudgetExhausted,
  RuntimeShutDown,
  StartCancelled,
  StartupFailed,
  TeardownFailed,
} from 'plugin-seam';
import type { FrameOutcome } from 'plugin-seam';

/** How one input ended, as the application saw it. */
export type InputOutcome = 'done' | 'failed' | 'dropped' | 'lost' | 'refused';

interface Call {
  readonly label: string;
  readonly issuedAt: number;
  /** Clock time by which it must have settled; undefined while no deadline applies. */
  due: number | undefined;
  settled: string | undefined;
}

/** What the tracker needs from the system under test. */
export interface TrackerOptions {
  readonly now: () => number;
  /** The per-input budget: an input begun at `t` settles by `t + inputBudgetMs`. */
  readonly inputBudgetMs: number;
  /** Whether generation `g` has ended (a `lost` outcome must name an ended generation). */
  readonly ended: (g: number) => boolean;
  /** Clock time each input began in the plugin, by tag (`m<k>` messages, `frame:<seq>` frames). */
  readonly begins: ReadonlyMap<string, number>;
}

/** Maps a rejected `send()` to the outcome kind it reports. */
function outcomeOfError(error: unknown): InputOutcome | undefined {
  if (error instanceof InputRefused) return 'refused';
  if (error instanceof InputFailed) return 'failed';
  if (error instanceof InputDropped) return 'dropped';
  if (error instanceof LostWhileRunning || error instanceof RestartBudgetExhausted) return 'lost';
  return undefined;
}

/** Errors a control call (start, run, pause, stop) may end with. */
const CONTROL_ERRORS = [InvalidState, StartupFailed, LostWhileRunning, TeardownFailed, RestartBudgetExhausted, StartCancelled, RuntimeShutDown];

/**
 * Tracks calls and their outcomes.
 *
 * @example
 * ```ts
 * const calls = new CallTracker({ now, inputBudgetMs: 1_500, ended, begins });
 * calls.message('send(echo)', 'm1', p.send({ op: 'echo', tag: 'm1' }), ['failed']);
 * await calls.allSettled(5_000);
 * expect(calls.overdue()).toEqual([]);
 * ```
 */
export class CallTracker {
  readonly violations: string[] = [];
  readonly #options: TrackerOptions;
  readonly #calls: Call[] = [];
  /** Message calls by tag, to give them a deadline once they begin. */
  readonly #messages = new Map<string, Call>();
  /** Frames that have their outcome, by seq (a frame's tag is `frame:<seq>`). */
  readonly #framesSettled = new Set<number>();
  readonly #counts: Record<InputOutcome, number> = { done: 0, failed: 0, dropped: 0, lost: 0, refused: 0 };
  readonly #promises: Promise<unknown>[] = [];

  constructor(options: TrackerOptions) {
    this.#options = options;
  }

  /** Outcomes seen so far, by kind. */
  get counts(): Readonly<Record<InputOutcome, number>> {
    return this.#counts;
  }

  /** A lifecycle call; `dueMs` after now it must have settled (undefined: only by the end). */
  control(label: string, call: Promise<unknown>, dueMs: number | undefined): void {
    const now = this.#options.now();
    const record: Call = { label, issuedAt: now, due: dueMs === undefined ? undefined : now + dueMs, settled: undefined };
    this.#calls.push(record);
    this.#promises.push(
      call.then(
        () => {
          record.settled = 'resolved';
        },
        (error: unknown) => {
          record.settled = error instanceof Error ? error.name : 'rejected';
          if (!CONTROL_ERRORS.some((E) => error instanceof E)) this.#violate(`${label} rejected with an unexpected ${String(error)}`);
        },
      ),
    );
  }

  /** A `send()`; `forbidden` lists outcomes this message can never have (e.g. `done` for a hang). */
  message(label: string, tag: string, call: Promise<unknown>, forbidden: readonly InputOutcome[] = []): void {
    const record: Call = { label: `${label} [${tag}]`, issuedAt: this.#options.now(), due: undefined, settled: undefined };
    this.#calls.push(record);
    this.#messages.set(tag, record);
    this.#promises.push(
      call.then(
        () => {
          this.#settle(record, 'done', undefined, forbidden);
        },
        (error: unknown) => {
          const kind = outcomeOfError(error);
          if (kind === undefined) {
            this.#violate(`${record.label} rejected with an error that is no input outcome: ${String(error)}`);
            record.settled = 'unexpected';
            return;
          }
          const generation = (error as { generation?: unknown }).generation;
          this.#settle(record, kind, typeof generation === 'number' ? generation : undefined, forbidden);
        },
      ),
    );
  }

  /** The outcomes of `count` frames handed to `connect()`: exactly one each, then completion. */
  frames(label: string, outcomes$: Observable<FrameOutcome>, count: number): void {
    const record: Call = { label, issuedAt: this.#options.now(), due: undefined, settled: undefined };
    this.#calls.push(record);
    const seen = new Set<number>();
    this.#promises.push(
      new Promise<void>((resolve) => {
        outcomes$.subscribe({
          next: (outcome) => {
            if (seen.has(outcome.seq)) this.#violate(`${label}: frame ${outcome.seq} has a second outcome ${outcome.kind}`);
            seen.add(outcome.seq);
            this.#framesSettled.add(outcome.seq);
            const frame: Call = { label: `${label} frame ${outcome.seq}`, issuedAt: record.issuedAt, due: undefined, settled: undefined };
            const refused = outcome.kind === 'dropped' && outcome.reason?.startsWith('refused:') === true;
            this.#settle(frame, refused ? 'refused' : outcome.kind, outcome.generation, []);
          },
          error: (error: unknown) => {
            this.#violate(`${label}: the outcome stream failed: ${String(error)}`);
            record.settled = 'error';
            resolve();
          },
          complete: () => {
            if (seen.size !== count) this.#violate(`${label}: completed with ${seen.size} outcomes for ${count} frames`);
            record.settled = 'complete';
            resolve();
          },
        });
      }),
    );
  }

  /** Calls past their deadline and still pending, as readable lines. */
  overdue(): string[] {
    const now = this.#options.now();
    const budget = this.#options.inputBudgetMs;
    const late: string[] = [];
    for (const [tag, began] of this.#options.begins) {
      if (tag.startsWith('frame:')) {
        if (!this.#framesSettled.has(Number(tag.slice(6))) && began + budget <= now) {
          late.push(`${tag} began @${began} still pending @${now} (due @${began + budget})`);
        }
        continue;
      }
      const call = this.#messages.get(tag);
      if (call !== undefined && call.due === undefined) call.due = began + budget;
    }
    for (const c of this.#calls) {
      if (c.settled === undefined && c.due !== undefined && c.due <= now) late.push(`${c.label} issued @${c.issuedAt} still pending @${now} (due @${c.due})`);
    }
    return late;
  }

  /** Whether the message tagged `tag` has settled (false for an unknown tag). */
  settledTag(tag: string): boolean {
    return this.#messages.get(tag)?.settled !== undefined;
  }

  /** Calls not settled yet, as readable lines. */
  pending(): string[] {
    return this.#calls.filter((c) => c.settled === undefined).map((c) => `${c.label} issued @${c.issuedAt}`);
  }

  /** Resolves once every call settled, or after `withinMs` of real time (then `pending()` says which did not). */
  async allSettled(withinMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.#promises),
      new Promise((resolve) => {
        timer = setTimeout(resolve, withinMs);
      }),
    ]);
    clearTimeout(timer);
  }

  #settle(call: Call, kind: InputOutcome, generation: number | undefined, forbidden: readonly InputOutcome[]): void {
    call.settled = kind;
    this.#counts[kind] += 1;
    if (forbidden.includes(kind)) this.#violate(`${call.label} ended ${kind}, which it never can`);
    if (kind === 'lost' && generation !== undefined && !this.#options.ended(generation)) {
      this.#violate(`${call.label} reported lost with generation ${generation}, which has not ended`);
    }
  }

  #violate(what: string): void {
    this.violations.push(what);
  }
}
