// The history of a nemesis run: every submission and its outcome, every output, every
// status change and ledger snapshot, every fault and operator action, in the order this
// process observed them, each stamped with real time, instance and current generation.
// Everything the offline checker (checkHistory) judges is in here, nothing else.
import type { Failure, LedgerCounters, LifecycleState } from 'plugin-seam';

/** How one input ended as the client saw it (`refused`: never accepted). */
export type OutcomeKind = 'done' | 'failed' | 'dropped' | 'lost' | 'refused';

interface Stamp {
  /** Milliseconds since the run began (performance.now based). */
  readonly t: number;
  readonly instance: string;
  /** The instance's generation when the event was observed. */
  readonly generation: number;
}

/** One thing that happened, as observed. */
export type HistoryEvent = Stamp &
  (
    | { readonly kind: 'submit'; readonly input: number; readonly what: 'frame' | 'message' }
    | { readonly kind: 'outcome'; readonly input: number; readonly outcome: OutcomeKind; readonly of: number | undefined; readonly reason?: string }
    | { readonly kind: 'output'; readonly channel: string; readonly seq: number; readonly of: number; readonly emittedBy?: number; readonly n?: number }
    | { readonly kind: 'log'; readonly of: number }
    | {
        readonly kind: 'status';
        readonly state: LifecycleState;
        readonly failure?: Failure;
        readonly restarts: number;
        readonly scheduled: boolean;
      }
    | { readonly kind: 'ledger'; readonly counters: LedgerCounters }
    | { readonly kind: 'fault'; readonly fault: string; readonly pid?: number; readonly state: LifecycleState }
    | { readonly kind: 'operator'; readonly action: string }
    | { readonly kind: 'pool'; readonly acquired: number; readonly slots: number }
    | { readonly kind: 'end'; readonly counters: LedgerCounters; readonly survivors: readonly number[] }
  );

/** Distributes `Omit` over a union (the built-in one would merge the variants). */
type Unstamped<E> = E extends unknown ? Omit<E, 't'> : never;

/**
 * An append-only log of {@link HistoryEvent}s.
 *
 * @example
 * ```ts
 * const history = new History();
 * history.record({ instance: 'iso-1', generation: 1, kind: 'fault', fault: 'SIGKILL', state: 'running' });
 * console.log(history.events.length);
 * ```
 */
export class History {
  readonly events: HistoryEvent[] = [];
  readonly #t0 = performance.now();

  /** Appends `event`, stamped with the time since the history began. */
  record(event: Unstamped<HistoryEvent>): void {
    this.events.push({ ...event, t: performance.now() - this.#t0 });
  }

  /** Milliseconds since the history began. */
  now(): number {
    return performance.now() - this.#t0;
  }
}

/** One event as a line of text, for failure reports. */
export function formatEvent(e: HistoryEvent, index: number): string {
  const head = `#${index} ${e.t.toFixed(1).padStart(8)}ms ${e.instance} g${e.generation}`;
  switch (e.kind) {
    case 'submit':
      return `${head} submit ${e.what} ${e.input}`;
    case 'outcome':
      return `${head} outcome ${e.input} ${e.outcome}${e.of === undefined ? '' : ` (g${e.of})`}${e.reason === undefined ? '' : ` ${e.reason}`}`;
    case 'output':
      return `${head} output ${e.channel} seq ${e.seq} of g${e.of}${e.n === undefined ? '' : ` #${e.n}`}${e.emittedBy === undefined ? '' : ` emitted by g${e.emittedBy}`}`;
    case 'log':
      return `${head} log of g${e.of}`;
    case 'status':
      return `${head} status ${e.state}${e.failure === undefined ? '' : ` ${e.failure.class}/${e.failure.cause} of g${e.failure.generation}`} restarts ${e.restarts}${e.scheduled ? ' (restart scheduled)' : ''}`;
    case 'ledger':
      return `${head} ledger ${JSON.stringify(e.counters)}`;
    case 'fault':
      return `${head} FAULT ${e.fault}${e.pid === undefined ? '' : ` pid ${e.pid}`} in ${e.state}`;
    case 'operator':
      return `${head} operator ${e.action}`;
    case 'pool':
      return `${head} pool ${e.acquired} of ${e.slots} slots acquirable`;
    case 'end':
      return `${head} end ${JSON.stringify(e.counters)} survivors [${e.survivors.join(', ')}]`;
  }
}
