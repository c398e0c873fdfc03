// Totals over the runs of one property, printed once at its end: what the random commands
// actually exercised (launches, failures by class and cause, outcomes by kind, faults
// injected and predictions checked), so a model that silently stopped reaching a path shows.
import type { ModelSystem } from './ModelSystem.js';

/**
 * Adds up what each run's system saw.
 *
 * @example
 * ```ts
 * const stats = new ModelStats();
 * stats.add(system, commandCount, ms);
 * console.log(stats.summary('inline'));
 * ```
 */
export class ModelStats {
  runs = 0;
  commands = 0;
  generations = 0;
  realMs = 0;
  finishMs = 0;
  predictions = 0;
  kills = 0;
  freezes = 0;
  readonly failures = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  stale = 0;
  outputs = 0;

  add(system: ModelSystem, commands: number, realMs: number): void {
    this.runs += 1;
    this.commands += commands;
    this.realMs += realMs;
    this.finishMs += system.stats.finishMs;
    this.predictions += system.stats.predictions;
    this.kills += system.stats.kills;
    this.freezes += system.stats.freezes;
    const s = system.p.status;
    this.generations += s.generation;
    this.stale += s.counters.stale;
    this.outputs += s.counters.outputs;
    for (const f of system.observer.failures.values()) bump(this.failures, `${f.class}/${f.cause}`);
    for (const [kind, n] of Object.entries(system.calls.counts)) bump(this.outcomes, kind, n);
  }

  summary(label: string): string {
    const list = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    return [
      `${label}: ${this.runs} runs, ${this.commands} commands, ${this.generations} generations, ${(this.realMs / 1_000).toFixed(1)} s (finish ${(this.finishMs / 1_000).toFixed(1)} s)`,
      `  failures: ${list(this.failures) || 'none'}`,
      `  outcomes: ${list(this.outcomes)}; outputs ${this.outputs}, stale ${this.stale}`,
      `  faults from outside: ${this.kills} SIGKILL, ${this.freezes} SIGSTOP; frozen-generation predictions checked: ${this.predictions}`,
    ].join('\n');
  }
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
