// The nemesis: at random intervals it picks an instance and a fault its mode can suffer, and
// records the fault in the history before it acts. Faults from outside go by pid, and only
// to a live child of this process (ownChild); faults from inside are messages the nemesis
// plugin obeys. It also plays the operator: an instance left terminally failed is started
// and run again, and now and then one is stopped and started on purpose.
import type { Mode, PluginInstance } from 'plugin-seam';
import { DEADLINE_STRETCH } from '../../src/actors/RuntimeClock.js';
import { signalOwnChild } from '../property/ownChild.js';
import type { ClientLoad } from './ClientLoad.js';
import type { History } from './History.js';

/** One instance the nemesis may hit. */
export interface NemesisTarget {
  readonly p: PluginInstance;
  readonly mode: Mode;
  readonly client: ClientLoad;
  /** The pid each generation announced (isolated). */
  readonly pids: ReadonlyMap<number, number>;
}

/** Deadlines the faults are sized against (real milliseconds). */
export interface NemesisTimings {
  readonly heartbeatMs: number;
  readonly inputMs: number;
  readonly stopMs: number;
  /** Messages beyond this are refused: a burst goes past it. */
  readonly messageQueue: number;
}

/** A small seeded PRNG (mulberry32): a run is replayable from its seed, up to real timing. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const INSIDE = ['hang', 'burst', 'flood-log', 'flood-emit'] as const;
const CONTAINED = ['spin', 'exit'] as const;
const OUTSIDE = ['SIGKILL', 'SIGSTOP(short)', 'SIGSTOP(long)', 'flood-stdout'] as const;

/**
 * Injects faults until stopped.
 *
 * @example
 * ```ts
 * const nemesis = new Nemesis(targets, history, seededRandom(42), { heartbeatMs: 300, inputMs: 500, stopMs: 1_000, messageQueue: 32 });
 * nemesis.start(150);
 * // ...
 * await nemesis.stop();
 * ```
 */
export class Nemesis {
  /** Faults injected, by kind. */
  readonly counts = new Map<string, number>();
  readonly #targets: readonly NemesisTarget[];
  readonly #history: History;
  readonly #random: () => number;
  readonly #timings: NemesisTimings;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Pids stopped by this nemesis and not continued yet. */
  readonly #stopped = new Set<number>();
  readonly #operating = new Set<string>();
  readonly #operations = new Set<Promise<void>>();
  #running = false;

  constructor(targets: readonly NemesisTarget[], history: History, random: () => number, timings: NemesisTimings) {
    this.#targets = targets;
    this.#history = history;
    this.#random = random;
    this.#timings = timings;
  }

  /** Starts injecting, one fault every `meanIntervalMs` on average. */
  start(meanIntervalMs: number): void {
    this.#running = true;
    const next = (): void => {
      if (!this.#running) return;
      this.#after(meanIntervalMs * (0.5 + this.#random()), () => {
        this.#strike();
        next();
      });
    };
    next();
  }

  /** The operator's pass: restarts instances left terminally failed (called by the load loop). */
  operate(): void {
    for (const t of this.#targets) {
      const s = t.p.status;
      if (s.state === 'failed' && s.restart?.scheduled !== true) this.#operate(t, 'start+run after a terminal failure', false);
    }
  }

  /**
   * Stops injecting. Pending SIGCONTs are dropped: a process still stopped is left for
   * shutdown to end. Waits for operator actions in progress.
   */
  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#operations]);
  }

  #after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)] as T;
  }

  #strike(): void {
    const target = this.#pick(this.#targets);
    if (this.#random() < 0.06) {
      this.#operate(target, 'bounce (stop, start, run)', true);
      return;
    }
    const faults: string[] = [...INSIDE];
    if (target.mode !== 'inline') faults.push(...CONTAINED);
    if (target.mode === 'isolated') faults.push(...OUTSIDE, 'SIGKILL', 'SIGSTOP(long)');
    this.#inject(target, this.#pick(faults));
  }

  #record(target: NemesisTarget, fault: string, pid?: number): void {
    const s = target.p.status;
    this.counts.set(fault, (this.counts.get(fault) ?? 0) + 1);
    this.#history.record({ instance: target.p.id, generation: s.generation, kind: 'fault', fault, state: s.state, ...(pid === undefined ? {} : { pid }) });
  }

  #inject(target: NemesisTarget, fault: string): void {
    const { heartbeatMs, inputMs, messageQueue } = this.#timings;
    switch (fault) {
      case 'hang':
        this.#record(target, fault);
        target.client.message({ op: 'hang' });
        return;
      case 'burst':
        this.#record(target, fault);
        for (let i = 0; i < messageQueue + 16; i++) target.client.message({ op: 'echo', value: i });
        return;
      case 'flood-log':
        this.#record(target, fault);
        target.client.message({ op: 'flood-log', count: 2_000 });
        return;
      case 'flood-emit':
        this.#record(target, fault);
        target.client.message({ op: 'flood-emit', count: 2_000 });
        return;
      case 'flood-stdout':
        this.#record(target, fault);
        target.client.message({ op: 'flood-stdout', bytes: 4 * 1024 * 1024 });
        return;
      case 'spin':
        // Longer than both deadlines: the input budget (or the heartbeat) ends it.
        this.#record(target, fault);
        target.client.message({ op: 'spin', ms: 2 * Math.max(heartbeatMs, inputMs) });
        return;
      case 'exit':
        this.#record(target, fault);
        target.client.message({ op: 'exit', code: this.#random() < 0.5 ? 0 : 3 });
        return;
      default:
        this.#signal(target, fault);
    }
  }

  #signal(target: NemesisTarget, fault: string): void {
    const s = target.p.status;
    const pid = target.pids.get(s.generation);
    if (pid === undefined) return;
    const { heartbeatMs, inputMs, stopMs } = this.#timings;
    switch (fault) {
      // Recorded once sent (a process that has just ended is not signalled): the history holds
      // what was done. The same tick, so the state recorded is the one the signal met.
      case 'SIGKILL':
        if (signalOwnChild(pid, 'SIGKILL')) this.#record(target, fault, pid);
        return;
      case 'SIGSTOP(short)':
      case 'SIGSTOP(long)': {
        // Short: well inside the heartbeat deadline. Long: past every deadline that applies,
        // as the runtime's clock stretches them on a busy host (a stop deadline too, when the
        // stop request came before the stop). One stop at a time per process: a second stop
        // would be ended by the first one's SIGCONT (a long stop continued after a few ms,
        // which the checker rightly reports).
        if (this.#stopped.has(pid)) return;
        const ms = fault === 'SIGSTOP(short)' ? heartbeatMs / 4 : DEADLINE_STRETCH * Math.max(heartbeatMs, inputMs, stopMs) + heartbeatMs;
        if (!signalOwnChild(pid, 'SIGSTOP')) return;
        this.#record(target, fault, pid);
        this.#stopped.add(pid);
        this.#after(ms, () => {
          this.#stopped.delete(pid);
          this.#record(target, 'SIGCONT', pid);
          signalOwnChild(pid, 'SIGCONT');
        });
        return;
      }
    }
  }

  #operate(target: NemesisTarget, action: string, bounce: boolean): void {
    const id = target.p.id;
    if (this.#operating.has(id)) return;
    this.#operating.add(id);
    const p = target.p;
    const op = (async () => {
      this.#history.record({ instance: id, generation: p.status.generation, kind: 'operator', action });
      if (bounce) await p.stop().catch(() => undefined);
      await p.start().catch(() => undefined);
      await p.run().catch(() => undefined);
    })().finally(() => {
      this.#operating.delete(id);
      this.#operations.delete(op);
    });
    this.#operations.add(op);
  }
}
