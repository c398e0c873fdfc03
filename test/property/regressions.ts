// Failing cases of the lifecycle model, kept and replayed on every run
// (lifecycle.regressions.test.ts), plus scenarios pinned down on purpose because random runs
// reach them rarely. Write commands in the form fast-check prints a counterexample
// (`start,run,send(hang),expire`) with the plan it printed; a `{ seed, path }` replay only
// means something while the arbitraries in lifecycleProperty.ts stay as they were.
import type { Mode } from 'plugin-seam';
import type { ModelPlan } from './ModelSystem.js';
import type { KNOWN_BUGS } from './knownBugs.js';

/** One kept case. */
export interface RegressionCase {
  /** What it found (or pins down), and when. */
  readonly name: string;
  readonly mode: Mode;
  /** Overrides of {@link DEFAULT_REGRESSION_PLAN}. */
  readonly plan?: Partial<ModelPlan>;
  /** Commands in their printed form, comma-separated. */
  readonly commands?: string;
  /** What a written case must show besides the invariants: failures (`class/cause`) it must include. */
  readonly expect?: { readonly failures?: readonly string[] };
  /**
   * The known, unfixed runtime bug this case reproduces (knownBugs.ts): it runs every check
   * and is expected to fail while the bug's flag is set.
   */
  readonly knownBug?: keyof typeof KNOWN_BUGS;
  /** Or: replay a run of the property by fast-check's seed and path. */
  readonly replay?: { readonly seed: number; readonly path: string; readonly scheduled?: boolean };
}

/** The plan a written case runs with unless it says otherwise. */
export const DEFAULT_REGRESSION_PLAN: ModelPlan = { heartbeatMs: 1_000, onInputError: 'restart', startPlan: {}, begin: 'running' };

export const REGRESSIONS: readonly RegressionCase[] = [
  // ---- scenarios pinned on purpose ----
  {
    name: 'restart windows expire on the runtime clock while the plugin keeps failing (2026-11-27, embedded property run: a budget left spent)',
    mode: 'embedded',
    plan: { heartbeatMs: 1_000, onInputError: 'restart', policy: 'permanent', startPlan: { 1: 'throw' }, begin: 'running' },
    commands: 'start,expire,start,crash(throw@now),send(throw),start,run,tick(2434),tick(513),expire',
  },
  {
    name: 'a SIGKILL racing the input error of a poison frame: either classification is the first (2026-11-26, a 300-run isolated property run)',
    mode: 'isolated',
    commands: 'frames(1 poison),kill,start,run,frames(1 poison),tick(0),kill',
  },
  {
    name: 'an input that never settles loses its generation at the input budget; the next one answers',
    mode: 'inline',
    commands: 'send(hang),send(echo),expire,tick(1000),send(echo)',
    expect: { failures: ['lost/unresponsive'] },
  },
  {
    name: 'a worker blocked while idle stops beating: lost/unresponsive at the heartbeat deadline',
    mode: 'embedded',
    commands: 'freeze(idle),expire,tick(1000),send(echo)',
    expect: { failures: ['lost/unresponsive'] },
  },
  {
    name: 'a worker blocked inside an input is caught by the input budget',
    mode: 'embedded',
    commands: 'freeze(input),send(echo),expire,thaw,tick(1000)',
    expect: { failures: ['lost/unresponsive'] },
  },
  {
    name: 'a SIGSTOPped child is lost/unresponsive, then SIGCONT: nothing of it is delivered',
    mode: 'isolated',
    commands: 'send(emit),freeze(signal),expire,thaw,tick(1000),send(echo)',
    expect: { failures: ['lost/unresponsive'] },
  },
  {
    name: 'a SIGSTOPped child while stopping: teardown/timeout, and it does not survive shutdown',
    mode: 'isolated',
    commands: 'freeze(signal),stop,expire',
    expect: { failures: ['teardown/timeout'] },
  },
  {
    name: 'SIGKILL while an input is in flight: the input is lost, the generation restarts',
    mode: 'isolated',
    commands: 'send(hang),kill,tick(1000),send(echo)',
    expect: { failures: ['lost/signal'] },
  },
  {
    name: 'a stop that hangs is a teardown failure at the stop deadline',
    mode: 'embedded',
    commands: 'armStop(hang),stop,expire,start,run,send(echo)',
    expect: { failures: ['teardown/timeout'] },
  },
  {
    name: 'process.exit(0) in stop, and an uncaught error in onFrame',
    mode: 'isolated',
    plan: { heartbeatMs: 60_000 },
    commands: 'crash(exit0@stop),stop,start,run,crash(throw@frame),frames(2),idle,tick(1000),send(echo)',
    expect: { failures: ['teardown/exit', 'lost/exit'] },
  },
  {
    name: 'late output after the generation ended is fenced (inline: the old generation keeps emitting)',
    mode: 'inline',
    commands: 'late(after-end),send(throw),tick(1000),send(echo),late(after-reply),send(emit)',
    expect: { failures: ['lost/threw'] },
  },
  {
    name: 'a start that hangs then one that throws: startup budget, then terminal and refused',
    mode: 'inline',
    plan: { startPlan: { 1: 'hang', 2: 'throw', 3: 'throw' }, begin: 'loaded' },
    commands: 'start,run,expire,tick(1000),tick(1000),send(echo),start,run',
    expect: { failures: ['startup/timeout', 'startup/threw', 'startup/threw'] },
  },
  {
    name: 'an exit in start is a startup failure (embedded)',
    mode: 'embedded',
    plan: { startPlan: { 1: 'exit', 2: 'crash' }, begin: 'loaded' },
    commands: 'start,run,tick(1000),tick(1000),send(echo)',
    expect: { failures: ['startup/exit', 'startup/exit'] },
  },
  // ---- counterexamples found by the property ----
  {
    // Found by the end-of-run pool check (all slots acquirable at quiescence). Minimal form:
    // one frame, the plugin exits inside onFrame; afterwards acquire() never got that slot.
    name: 'a worker that exits while holding a frame gives its slot back',
    mode: 'embedded',
    plan: { heartbeatMs: 60_000 },
    commands: 'crash(exit3@frame),frames(1),idle',
  },
  {
    name: 'a child that dies of an uncaught error while holding a frame gives its slot back',
    mode: 'isolated',
    plan: { heartbeatMs: 60_000 },
    commands: 'crash(throw@frame),frames(1),idle',
  },
];
