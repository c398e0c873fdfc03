// Watches one plugin instance through its public streams (status$, outputs$, logs$) and the
// runtime's inspection events, and records every violation of the lifecycle contract the
// moment it is observable: illegal transitions, a generation launched before the previous
// one ended, a failure class that does not match the phase it happened in, a generation
// classified twice, output or logs delivered outside their live generation, output out of
// emission order, restarts beyond the configured intensity — or refused while budget was
// left.
import type { Subscription } from 'rxjs';
import type { InspectionEvent } from 'xstate';
import type { Failure, LifecycleState, PluginInstance, PluginOutput, PluginStatus, RestartBudget, RestartPolicy } from 'plugin-seam';

/** The lifecycle's legal transitions, as the contract states them. */
export const LEGAL: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  loaded: ['starting', 'stopped'],
  starting: ['started', 'running', 'failed', 'stopping'],
  started: ['running', 'stopping', 'failed'],
  running: ['started', 'stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: ['starting'],
  failed: ['starting', 'stopped'],
};

/** States in which a generation is alive and its output may be delivered. */
export const LIVE: ReadonlySet<LifecycleState> = new Set(['starting', 'started', 'running', 'stopping']);

/** The failure class a failure must carry, by the state the instance failed from. */
const CLASS_FROM: Partial<Record<LifecycleState, Failure['class']>> = {
  starting: 'startup',
  started: 'lost',
  running: 'lost',
  stopping: 'teardown',
};

type Budget = 'lost' | 'startup';

interface ScheduledRestart {
  /** Simulated time the failure scheduled the restart. */
  readonly at: number;
  readonly budget: Budget;
  /** Budgets are fresh after a manual start from `stopped` or a terminal failure. */
  readonly epoch: number;
  readonly generation: number;
}

/** What the observer needs besides the instance. */
export interface ObserverOptions {
  /** The runtime's clock (simulated or real), read when an event is stamped. */
  readonly now: () => number;
  readonly intensity: RestartBudget;
  readonly startup: RestartBudget;
  /** Default `permanent`. */
  readonly policy?: RestartPolicy;
}

/**
 * Records contract violations of one instance as they happen; `violations` is empty while
 * everything is legal.
 *
 * @example
 * ```ts
 * const observer = new LifecycleObserver(p, { now: () => clock.now(), intensity, startup });
 * // ... drive the instance ...
 * expect(observer.violations).toEqual([]);
 * observer.dispose();
 * ```
 */
export class LifecycleObserver {
  readonly violations: string[] = [];
  /** The one classification of each failed generation. */
  readonly failures = new Map<number, Failure>();
  /** Generations that ended with a clean stop (stopping → stopped). */
  readonly cleanStops = new Set<number>();
  /** Process id each generation announced (`hello`). */
  readonly pids = new Map<number, number>();
  /** How each generation's stop was armed (`armed` outputs). */
  readonly armedStops = new Map<number, string>();
  /** Clock time each input began in the plugin, by the input's tag (`begin` outputs). */
  readonly begins = new Map<string, number>();
  /** Real time (performance.now) of the last heartbeat the instance's actor received. */
  lastHeartbeatAt = Number.NEGATIVE_INFINITY;
  /** Outputs delivered, by channel. */
  readonly delivered = new Map<string, number>();
  /** A short trail of what happened, for failure reports. */
  readonly trail: string[] = [];

  readonly #p: PluginInstance;
  readonly #options: ObserverOptions;
  readonly #scheduled: ScheduledRestart[] = [];
  readonly #lastN = new Map<number, number>();
  readonly #subscriptions: Subscription[] = [];
  #state: LifecycleState = 'loaded';
  #generation = 0;
  #restartScheduled = false;
  #epoch = 0;
  #restarts = 0;
  #outputSeq = 0;

  constructor(p: PluginInstance, options: ObserverOptions) {
    this.#p = p;
    this.#options = options;
    this.#subscriptions.push(
      p.status$.subscribe((s) => {
        this.#onStatus(s);
      }),
      p.outputs$.subscribe((o) => {
        this.#onOutput(o);
      }),
      p.logs$.subscribe((l) => {
        const status = this.#p.status;
        if (l.generation !== status.generation || !LIVE.has(status.state)) {
          this.#violate(`a log line of generation ${l.generation} delivered in ${status.state} of generation ${status.generation}`);
        }
      }),
    );
  }

  /** Feed the runtime's inspection events here (`createRuntime({ inspect })`). */
  inspect(event: InspectionEvent): void {
    if (event.type === '@xstate.event' && event.event.type === 'gen.heartbeat' && event.actorRef === this.#p.actor) {
      this.lastHeartbeatAt = performance.now();
    }
  }

  /** Whether generation `g` has ended: classified as failed, or stopped cleanly. */
  ended(g: number): boolean {
    return this.failures.has(g) || this.cleanStops.has(g);
  }

  /** Checks what can only be judged over time; adds to `violations`. */
  checkNow(): void {
    const context = this.#p.actor.getSnapshot().context;
    if (context.failures !== this.failures.size) {
      this.#violate(`the machine counts ${context.failures} failures, the status stream showed ${this.failures.size} classified generations`);
    }
    if (context.restarts > this.#scheduled.length) {
      this.#violate(`${context.restarts} restarts, but only ${this.#scheduled.length} were ever scheduled`);
    }
    for (const budget of ['lost', 'startup'] as const) {
      const { maxRestarts, withinMs } = budget === 'lost' ? this.#options.intensity : this.#options.startup;
      const times = this.#scheduled.filter((r) => r.budget === budget);
      for (const r of times) {
        const inWindow = times.filter((u) => u.epoch === r.epoch && u.at >= r.at && u.at < r.at + withinMs);
        if (inWindow.length > maxRestarts) {
          this.#violate(
            `${inWindow.length} ${budget} restarts scheduled within ${withinMs} ms (max ${maxRestarts}): generations ${inWindow.map((u) => `${u.generation}@${u.at}`).join(', ')}`,
          );
          return;
        }
      }
    }
  }

  dispose(): void {
    for (const s of this.#subscriptions) s.unsubscribe();
  }

  #violate(what: string): void {
    this.violations.push(what);
    this.trail.push(`!! ${what}`);
  }

  #onStatus(s: PluginStatus): void {
    if (s.restarts !== this.#restarts) {
      if (s.restarts !== this.#restarts + 1) this.#violate(`restarts jumped from ${this.#restarts} to ${s.restarts}`);
      this.#restarts = s.restarts;
    }
    if (s.state === this.#state) {
      if (s.generation !== this.#generation) this.#violate(`generation changed ${this.#generation} → ${s.generation} without a launch (state ${s.state})`);
      if (s.state === 'failed' && s.failure !== undefined) {
        const seen = this.failures.get(s.failure.generation);
        if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(s.failure)) {
          this.#violate(`generation ${s.failure.generation} classified twice: ${JSON.stringify(seen)} then ${JSON.stringify(s.failure)}`);
        }
      }
      return;
    }
    const from = this.#state;
    const to = s.state;
    const now = this.#options.now();
    this.trail.push(`@${now} ${from} → ${to} g${s.generation}${s.failure === undefined ? '' : ` ${s.failure.class}/${s.failure.cause}`}`);
    if (!LEGAL[from].includes(to)) this.#violate(`illegal transition ${from} → ${to} (generation ${s.generation})`);
    if (to === 'starting') {
      if (s.generation !== this.#generation + 1) this.#violate(`generation ${s.generation} launched after generation ${this.#generation}`);
      if (this.#generation > 0 && !this.ended(this.#generation)) {
        this.#violate(`generation ${s.generation} launched before generation ${this.#generation} ended`);
      }
      // A manual start from stopped, or from a failure that scheduled nothing, resets budgets.
      if (from === 'stopped' || (from === 'failed' && !this.#restartScheduled)) this.#epoch += 1;
    } else if (s.generation !== this.#generation) {
      this.#violate(`generation changed ${this.#generation} → ${s.generation} on ${from} → ${to}`);
    }
    if (to === 'failed') this.#onFailed(from, s, now);
    if (to === 'stopped' && from === 'stopping') {
      if (this.failures.has(s.generation)) this.#violate(`generation ${s.generation} stopped cleanly after it was classified as failed`);
      this.cleanStops.add(s.generation);
    }
    this.#state = to;
    this.#generation = s.generation;
    this.#restartScheduled = to === 'failed' && s.restart?.scheduled === true;
  }

  #onFailed(from: LifecycleState, s: PluginStatus, now: number): void {
    const failure = s.failure;
    if (failure === undefined) {
      this.#violate(`failed without a failure (generation ${s.generation})`);
      return;
    }
    if (failure.generation !== s.generation) this.#violate(`failure of generation ${failure.generation} reported in generation ${s.generation}`);
    const expected = CLASS_FROM[from];
    if (expected !== failure.class) this.#violate(`a failure from ${from} classified as ${failure.class} (expected ${expected ?? 'none'})`);
    if (this.failures.has(failure.generation)) {
      this.#violate(`generation ${failure.generation} classified twice: ${JSON.stringify(this.failures.get(failure.generation))} then ${JSON.stringify(failure)}`);
    }
    if (this.cleanStops.has(failure.generation)) this.#violate(`generation ${failure.generation} failed after a clean stop`);
    this.failures.set(failure.generation, failure);
    if (failure.class === 'teardown') return;
    const budget: Budget = failure.class === 'startup' ? 'startup' : 'lost';
    const policy = this.#options.policy ?? 'permanent';
    // A clean exit 0 ends a transient instance, running or starting (README: not after a clean exit 0).
    const cleanExit = failure.cause === 'exit' && failure.exitCode === 0;
    const final = policy === 'never' || (policy === 'transient' && cleanExit);
    if (s.restart?.scheduled === true) {
      if (final) this.#violate(`generation ${failure.generation} (${failure.class}/${failure.cause}) restarted against the ${policy} policy`);
      this.#scheduled.push({ at: now, budget, epoch: this.#epoch, generation: failure.generation });
      return;
    }
    if (final) return;
    // Terminal: legal only if the budget was spent (the window includes its edge, where an
    // expiry and a new failure at the same instant may run in either order).
    const { maxRestarts, withinMs } = budget === 'lost' ? this.#options.intensity : this.#options.startup;
    const recent = this.#scheduled.filter((r) => r.budget === budget && r.epoch === this.#epoch && r.at >= now - withinMs).length;
    if (recent < maxRestarts) {
      this.#violate(`generation ${failure.generation} (${failure.class}/${failure.cause}) not restarted with ${recent} of ${maxRestarts} ${budget} restarts used`);
    }
  }

  #onOutput(o: PluginOutput): void {
    const status = this.#p.status;
    const value = o.value as {
      readonly generation?: unknown;
      readonly n?: unknown;
      readonly tag?: unknown;
      readonly pid?: unknown;
      readonly point?: unknown;
      readonly how?: unknown;
    } | null;
    this.delivered.set(o.channel, (this.delivered.get(o.channel) ?? 0) + 1);
    if (o.generation !== status.generation || !LIVE.has(status.state)) {
      this.#violate(`output ${o.channel} #${String(value?.n)} of generation ${o.generation} delivered in ${status.state} of generation ${status.generation}`);
    }
    if (value?.generation !== undefined && value.generation !== o.generation) {
      this.#violate(`output emitted by generation ${JSON.stringify(value.generation)} delivered as generation ${o.generation}`);
    }
    if (o.seq <= this.#outputSeq) this.#violate(`output seq ${o.seq} after ${this.#outputSeq}`);
    this.#outputSeq = o.seq;
    if (typeof value?.n === 'number') {
      const last = this.#lastN.get(o.generation) ?? 0;
      if (value.n <= last) this.#violate(`generation ${o.generation} output #${value.n} delivered after #${last}: emission order broken`);
      this.#lastN.set(o.generation, value.n);
    }
    if (o.channel === 'hello' && typeof value?.pid === 'number') this.pids.set(o.generation, value.pid);
    if (o.channel === 'begin' && typeof value?.tag === 'string') this.begins.set(value.tag, this.#options.now());
    if (o.channel === 'armed' && value?.point === 'stop' && typeof value.how === 'string') this.armedStops.set(o.generation, value.how);
  }
}
