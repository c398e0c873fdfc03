// The offline checker of a nemesis history: it replays the events in order, per instance,
// and reports every violation with the indices of the events involved, so a failure prints
// the violating part of the history (formatViolations).
//
// Invariants:
// - transition: only legal lifecycle transitions; a launch is the next generation.
// - launch-after-end: generation N+1 launches only after N ended (failed or stopped).
// - classified-once / failure-class: one classification per failed generation, of the class
//   its phase implies (startup from starting, lost from started/running, teardown from stopping).
// - intensity: restarts scheduled within any window stay within the budget (per budget,
//   reset by a manual start), and a failure is terminal only once its budget is spent.
// - fence: no output or log of generation N delivered once N ended or N+1 began, and none
//   attributed to another generation than the one that emitted it.
// - emission-order: outputs in seq order; each generation's emissions in its own order.
// - one-outcome: every submission has exactly one outcome, and no outcome lacks a submission.
// - lost-names-ended: a `lost` outcome names a generation that has ended.
// - ledger: every ledger snapshot balances; at the end the counters equal the outcomes the
//   client saw and the outputs delivered, and nothing is queued or in flight.
// - stop-detected: a live generation whose process stayed stopped past the deadline that
//   applies is declared failed before the process is continued: the heartbeat deadline from
//   the stop while up, the stop deadline from the stop request while stopping — each as the
//   runtime's clock stretches it (DEADLINE_STRETCH) plus the host's timer lateness.
// - one-stop: the nemesis stops a process only while it is not stopped already (else a
//   short stop's SIGCONT ends a long one early, and stop-detected would blame the runtime).
// - kill-detected: a SIGKILLed live generation is declared ended before the run ends.
// - pool: once stopped, every frame slot of an instance can be acquired again (recorded only
//   where no known runtime bug breaks it).
// - children: no plugin process survives shutdown.
import type { Failure, LifecycleState, RestartBudget } from 'plugin-seam';
import { DEADLINE_STRETCH } from '../../src/actors/RuntimeClock.js';
import { LEGAL } from '../property/LifecycleObserver.js';
import { formatEvent } from './History.js';
import type { HistoryEvent, OutcomeKind } from './History.js';

/** The budgets one instance was loaded with. */
export interface InstanceBudgets {
  readonly intensity: RestartBudget;
  readonly startup: RestartBudget;
}

/** Options of {@link checkHistory}. */
export interface CheckOptions {
  /** Budgets by instance id. */
  readonly budgets: Readonly<Record<string, InstanceBudgets>>;
  /** Real-time tolerance on restart windows (timers fire late under load), in ms. */
  readonly slackMs: number;
  /** The deadlines a stopped process must be found by (`timeouts.heartbeat`, `timeouts.stop`), in ms. */
  readonly deadlines: { readonly heartbeatMs: number; readonly stopMs: number };
  /** How late the host's timers may fire (its event-loop delay), in ms. */
  readonly lateMs: number;
}

/** One broken invariant, with the events that show it. */
export interface Violation {
  readonly rule: string;
  readonly instance: string;
  readonly message: string;
  /** Indices into the history. */
  readonly events: readonly number[];
}

const LIVE: ReadonlySet<LifecycleState> = new Set(['starting', 'started', 'running', 'stopping']);
const CLASS_FROM: Partial<Record<LifecycleState, Failure['class']>> = { starting: 'startup', started: 'lost', running: 'lost', stopping: 'teardown' };

interface Scheduled {
  readonly t: number;
  readonly budget: 'lost' | 'startup';
  readonly epoch: number;
  readonly index: number;
}

/** What the checker knows of one instance at a point of the history. */
class InstanceReplay {
  state: LifecycleState = 'loaded';
  /** When the current state was entered (ms). */
  stateSince = 0;
  generation = 0;
  statusIndex = -1;
  restartScheduled = false;
  epoch = 0;
  readonly failures = new Map<number, { readonly failure: Failure; readonly index: number }>();
  readonly cleanStops = new Map<number, number>();
  readonly scheduled: Scheduled[] = [];
  readonly submits = new Map<number, number>();
  readonly outcomes = new Map<number, number>();
  readonly counts: Record<OutcomeKind, number> = { done: 0, failed: 0, dropped: 0, lost: 0, refused: 0 };
  outputSeq = 0;
  outputIndex = -1;
  outputs = 0;
  readonly lastN = new Map<number, { readonly n: number; readonly index: number }>();
  /** Stopped processes: pid → the SIGSTOP event. */
  readonly stops = new Map<number, { readonly index: number; readonly t: number; readonly generation: number; readonly long: boolean; readonly state: LifecycleState }>();
  readonly kills: { readonly index: number; readonly generation: number }[] = [];
  endIndex = -1;

  ended(g: number): boolean {
    return this.failures.has(g) || this.cleanStops.has(g);
  }
}

/**
 * Checks a whole history; returns every violation found (empty when all invariants hold).
 *
 * @example
 * ```ts
 * const violations = checkHistory(history.events, { budgets, slackMs: 250, deadlines: { heartbeatMs: 300, stopMs: 1_000 }, lateMs: 50 });
 * if (violations.length > 0) throw new Error(formatViolations(history.events, violations));
 * ```
 */
export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  const replays = new Map<string, InstanceReplay>();
  const replayOf = (instance: string): InstanceReplay => {
    let r = replays.get(instance);
    if (r === undefined) {
      r = new InstanceReplay();
      replays.set(instance, r);
    }
    return r;
  };
  events.forEach((e, index) => {
    const r = replayOf(e.instance);
    const violate = (rule: string, message: string, involved: readonly number[] = []): void => {
      violations.push({ rule, instance: e.instance, message, events: [...involved.filter((i) => i >= 0), index] });
    };
    switch (e.kind) {
      case 'status':
        onStatus(r, e, index, options, violate);
        return;
      case 'submit':
        if (r.submits.has(e.input)) violate('one-outcome', `input ${e.input} submitted twice`, [r.submits.get(e.input) ?? -1]);
        r.submits.set(e.input, index);
        return;
      case 'outcome': {
        const submitted = r.submits.get(e.input);
        if (submitted === undefined) violate('one-outcome', `outcome ${e.outcome} for input ${e.input}, which was never submitted`);
        const earlier = r.outcomes.get(e.input);
        if (earlier !== undefined) violate('one-outcome', `input ${e.input} has a second outcome (${e.outcome})`, [submitted ?? -1, earlier]);
        r.outcomes.set(e.input, index);
        r.counts[e.outcome] += 1;
        if (e.outcome === 'lost' && e.of !== undefined && !r.ended(e.of)) {
          violate('lost-names-ended', `input ${e.input} reported lost with generation ${e.of}, which has not ended`, [submitted ?? -1, r.statusIndex]);
        }
        return;
      }
      case 'output':
      case 'log': {
        if (e.of !== r.generation || !LIVE.has(r.state)) {
          violate('fence', `${e.kind === 'log' ? 'log' : `output ${e.channel}`} of generation ${e.of} delivered in ${r.state} of generation ${r.generation}`, [r.statusIndex]);
        }
        if (e.kind === 'log') return;
        r.outputs += 1;
        if (e.emittedBy !== undefined && e.emittedBy !== e.of) violate('fence', `output emitted by generation ${e.emittedBy} delivered as generation ${e.of}`);
        if (e.seq <= r.outputSeq) violate('emission-order', `output seq ${e.seq} after seq ${r.outputSeq}`, [r.outputIndex]);
        r.outputSeq = e.seq;
        r.outputIndex = index;
        if (e.n !== undefined) {
          const last = r.lastN.get(e.of);
          if (last !== undefined && e.n <= last.n) violate('emission-order', `generation ${e.of} emission #${e.n} delivered after #${last.n}`, [last.index]);
          r.lastN.set(e.of, { n: e.n, index });
        }
        return;
      }
      case 'ledger': {
        const c = e.counters;
        if (c.accepted !== c.done + c.failed + c.dropped + c.lost + c.queued + c.inFlight) violate('ledger', `unbalanced: ${JSON.stringify(c)}`);
        return;
      }
      case 'fault':
        onFault(r, e, index, options, violate);
        return;
      case 'operator':
        return;
      case 'pool':
        if (e.acquired !== e.slots) violate('pool', `frame pool leaked: ${e.acquired} of ${e.slots} slots acquirable once stopped`);
        return;
      case 'end': {
        r.endIndex = index;
        const c = e.counters;
        if (c.accepted !== c.done + c.failed + c.dropped + c.lost + c.queued + c.inFlight) violate('ledger', `unbalanced at the end: ${JSON.stringify(c)}`);
        if (c.queued !== 0 || c.inFlight !== 0) violate('ledger', `not drained after shutdown: ${c.queued} queued, ${c.inFlight} in flight`);
        for (const kind of ['done', 'failed', 'dropped', 'lost', 'refused'] as const) {
          if (c[kind] !== r.counts[kind]) violate('ledger', `the ledger counts ${c[kind]} ${kind}, the client saw ${r.counts[kind]}`);
        }
        if (c.outputs !== r.outputs) violate('ledger', `the ledger counts ${c.outputs} outputs, ${r.outputs} were delivered`);
        if (e.survivors.length > 0) violate('children', `plugin processes survived shutdown: ${e.survivors.join(', ')}`);
        return;
      }
    }
  });
  for (const [instance, r] of replays) {
    const violate = (rule: string, message: string, involved: readonly number[]): void => {
      violations.push({ rule, instance, message, events: involved.filter((i) => i >= 0) });
    };
    for (const [input, index] of r.submits) {
      if (!r.outcomes.has(input)) violate('one-outcome', `input ${input} never had an outcome`, [index, r.endIndex]);
    }
    for (const kill of r.kills) {
      if (!r.ended(kill.generation)) violate('kill-detected', `SIGKILLed generation ${kill.generation} never ended`, [kill.index, r.endIndex]);
    }
  }
  return violations;
}

function onStatus(
  r: InstanceReplay,
  e: Extract<HistoryEvent, { kind: 'status' }>,
  index: number,
  options: CheckOptions,
  violate: (rule: string, message: string, involved?: readonly number[]) => void,
): void {
  const from = r.state;
  const to = e.state;
  if (from === to) {
    if (e.generation !== r.generation) violate('transition', `generation ${r.generation} → ${e.generation} without a launch`, [r.statusIndex]);
    const earlier = e.failure === undefined ? undefined : r.failures.get(e.failure.generation);
    if (e.failure !== undefined && earlier !== undefined && JSON.stringify(earlier.failure) !== JSON.stringify(e.failure)) {
      violate('classified-once', `generation ${e.failure.generation} classified again as ${e.failure.class}/${e.failure.cause}`, [earlier.index]);
    }
    r.statusIndex = index;
    return;
  }
  if (!LEGAL[from].includes(to)) violate('transition', `illegal transition ${from} → ${to}`, [r.statusIndex]);
  if (to === 'starting') {
    if (e.generation !== r.generation + 1) violate('transition', `generation ${e.generation} launched after generation ${r.generation}`, [r.statusIndex]);
    if (r.generation > 0 && !r.ended(r.generation)) violate('launch-after-end', `generation ${e.generation} launched before generation ${r.generation} ended`, [r.statusIndex]);
    if (from === 'stopped' || (from === 'failed' && !r.restartScheduled)) r.epoch += 1;
  } else if (e.generation !== r.generation) {
    violate('transition', `generation ${r.generation} → ${e.generation} on ${from} → ${to}`, [r.statusIndex]);
  }
  if (to === 'stopped' && from === 'stopping') {
    if (r.failures.has(e.generation)) violate('classified-once', `generation ${e.generation} stopped cleanly after failing`, [r.failures.get(e.generation)?.index ?? -1]);
    r.cleanStops.set(e.generation, index);
  }
  if (to === 'failed') onFailed(r, from, e, index, options, violate);
  r.state = to;
  r.stateSince = e.t;
  r.generation = e.generation;
  r.statusIndex = index;
  r.restartScheduled = to === 'failed' && e.scheduled;
}

function onFailed(
  r: InstanceReplay,
  from: LifecycleState,
  e: Extract<HistoryEvent, { kind: 'status' }>,
  index: number,
  options: CheckOptions,
  violate: (rule: string, message: string, involved?: readonly number[]) => void,
): void {
  const failure = e.failure;
  if (failure === undefined) {
    violate('failure-class', 'failed without a failure', [r.statusIndex]);
    return;
  }
  const expected = CLASS_FROM[from];
  if (failure.class !== expected) violate('failure-class', `failure from ${from} classified ${failure.class}/${failure.cause} (expected ${expected ?? 'none'})`, [r.statusIndex]);
  const earlier = r.failures.get(failure.generation);
  if (earlier !== undefined) violate('classified-once', `generation ${failure.generation} classified again as ${failure.class}/${failure.cause}`, [earlier.index]);
  if (r.cleanStops.has(failure.generation)) violate('classified-once', `generation ${failure.generation} failed after a clean stop`, [r.cleanStops.get(failure.generation) ?? -1]);
  r.failures.set(failure.generation, { failure, index });
  if (failure.class === 'teardown') return;
  const budgets = options.budgets[e.instance];
  if (budgets === undefined) return;
  const budget = failure.class === 'startup' ? 'startup' : 'lost';
  const { maxRestarts, withinMs } = budget === 'startup' ? budgets.startup : budgets.intensity;
  const same = r.scheduled.filter((s) => s.budget === budget && s.epoch === r.epoch);
  if (e.scheduled) {
    // Scheduled restarts within one window (its far edge shrunk by the slack: our stamps lag the machine's).
    const inWindow = [...same.filter((s) => s.t > e.t - withinMs + options.slackMs), { t: e.t, index }];
    if (inWindow.length > maxRestarts) {
      violate('intensity', `${inWindow.length} ${budget} restarts scheduled within ${withinMs} ms (max ${maxRestarts})`, inWindow.map((s) => s.index));
    }
    r.scheduled.push({ t: e.t, budget, epoch: r.epoch, index });
    return;
  }
  // Terminal: the budget must have been spent (the window widened by the slack: expiries fire late).
  const recent = same.filter((s) => s.t >= e.t - withinMs - options.slackMs);
  if (recent.length < maxRestarts) {
    violate('intensity', `generation ${failure.generation} not restarted with ${recent.length} of ${maxRestarts} ${budget} restarts used`, recent.map((s) => s.index));
  }
}

function onFault(
  r: InstanceReplay,
  e: Extract<HistoryEvent, { kind: 'fault' }>,
  index: number,
  options: CheckOptions,
  violate: (rule: string, message: string, involved?: readonly number[]) => void,
): void {
  const pid = e.pid;
  if (e.fault === 'SIGKILL' && LIVE.has(e.state)) r.kills.push({ index, generation: e.generation });
  if (pid === undefined) return;
  if (e.fault === 'SIGSTOP(long)' || e.fault === 'SIGSTOP(short)') {
    const earlier = r.stops.get(pid);
    if (earlier !== undefined) {
      // The first stop's SIGCONT would end the second early: the stop checks would not hold.
      violate('one-stop', `pid ${pid} stopped again while stopped: the history cannot tell which stop a SIGCONT ends`, [earlier.index, index]);
      return;
    }
    r.stops.set(pid, { index, t: e.t, generation: e.generation, long: e.fault === 'SIGSTOP(long)', state: e.state });
    return;
  }
  if (e.fault !== 'SIGCONT') return;
  const stop = r.stops.get(pid);
  r.stops.delete(pid);
  // From starting, only the (long) start deadline applies: nothing is due yet.
  if (stop === undefined || !stop.long || stop.state === 'starting' || !LIVE.has(stop.state)) return;
  if (r.ended(stop.generation)) return;
  // Stopping: the stop deadline runs from the stop request, beats or not (a stop after the
  // SIGSTOP comes due later than the stop itself). Up: the heartbeat deadline, armed by the
  // last beat, before the SIGSTOP.
  const { heartbeatMs, stopMs } = options.deadlines;
  const [since, deadline] = r.state === 'stopping' ? [r.stateSince, stopMs] : [stop.t, heartbeatMs];
  const due = since + DEADLINE_STRETCH * deadline + options.lateMs;
  if (e.t > due) {
    violate('stop-detected', `generation ${stop.generation} stopped (pid ${pid}) ${(e.t - stop.t).toFixed(0)} ms, still ${r.state} ${(e.t - due).toFixed(0)} ms past its deadline when continued`, [r.statusIndex, stop.index, index]);
  }
}

/**
 * The violations with the part of the history that shows each: the events involved (marked
 * `>>`) and, around each of them, up to `context` of the same instance's events (ledger and
 * log lines left out), gaps between windows shown as `…`.
 */
export function formatViolations(events: readonly HistoryEvent[], violations: readonly Violation[], context = 12, limit = 8): string {
  const parts: string[] = [`${violations.length} violation(s):`];
  for (const v of violations.slice(0, limit)) {
    parts.push(`\n[${v.rule}] ${v.instance}: ${v.message}`);
    if (v.events.length === 0) continue;
    const involved = new Set(v.events.filter((i) => i >= 0 && i < events.length));
    // The instance's own events (and the involved ones), in history order.
    const shown: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e === undefined) continue;
      if (involved.has(i) || (e.instance === v.instance && e.kind !== 'ledger' && e.kind !== 'log')) shown.push(i);
    }
    const keep = new Set<number>();
    shown.forEach((i, at) => {
      if (!involved.has(i)) return;
      for (let k = Math.max(0, at - context); k <= Math.min(shown.length - 1, at + context); k++) keep.add(k);
    });
    let last = -2;
    for (const at of [...keep].sort((a, b) => a - b)) {
      if (last >= 0 && at !== last + 1) parts.push('   …');
      const i = shown[at] ?? -1;
      const e = events[i];
      if (e !== undefined) parts.push(`${involved.has(i) ? '>>' : '  '} ${formatEvent(e, i)}`);
      last = at;
    }
  }
  if (violations.length > limit) parts.push(`\n… and ${violations.length - limit} more`);
  return parts.join('\n');
}
