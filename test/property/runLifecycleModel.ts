// One run of the lifecycle model: build the system, run the commands (plainly, or with a
// fast-check scheduler deciding how the plugin's async steps interleave), finish, and always
// tear everything down. Used by the properties and by the regression replay alike.
import fc from 'fast-check';
import type { Mode } from 'plugin-seam';
import { KitDeadlineExceeded, withDeadline } from '../../src/testing/withDeadline.js';
import { ModelSystem, ModelViolation } from './ModelSystem.js';
import type { ModelPlan, StartFault } from './ModelSystem.js';
import type { InputOutcome } from './CallTracker.js';
import type { Model, ModelCommand } from './modelCommands.js';
import type { ModelStats } from './ModelStats.js';

/** Where the model plugin looks for the scheduler (inline: same globalThis as the test). */
interface SchedulerHook {
  __seamModelScheduler?: fc.Scheduler;
}

/** The per-run plan: heartbeat deadline, input-error policy, start faults of a few generations. */
export function modelPlan(mode: Mode): fc.Arbitrary<ModelPlan> {
  const faults: StartFault[] = mode === 'inline' ? ['throw', 'hang'] : ['throw', 'hang', 'exit', 'crash'];
  return fc.record({
    // Short: ticks cross it (a frozen guest is detected; a healthy one may be judged
    // unresponsive when simulated time outruns its real beats, which is legal). Long: only
    // the input budget and the start/stop deadlines apply.
    heartbeatMs: fc.constantFrom(1_000, 60_000),
    onInputError: fc.constantFrom('continue' as const, 'restart' as const),
    policy: fc.constantFrom('permanent' as const, 'permanent' as const, 'transient' as const, 'never' as const),
    startPlan: fc.dictionary(
      fc.integer({ min: 1, max: 8 }).map(String),
      fc.constantFrom(...faults),
      { maxKeys: 3 },
    ),
    begin: fc.constantFrom('running' as const, 'running' as const, 'running' as const, 'loaded' as const),
  });
}

/**
 * A run still going after this much real time is stuck: it fails, naming the command it was
 * in, so fast-check reports (and shrinks) its commands and seed. Without it a run that never
 * ends surfaces only as the test's own timeout, commands lost. Runs take ~0.4 s on average;
 * the slowest of 160 (embedded and isolated, start and stop deadlines, frozen generations)
 * took 5 s. Teardown has the same bound again, apart.
 */
export const RUN_DEADLINE_MS = 20_000;

/**
 * The longest one run can last, teardown included: a property's test timeout leaves this much
 * beyond the point where fast-check stops starting runs, so a run under way then (a stuck one
 * being shrunk, say) ends on its own deadline and is reported, not cut off by the timeout.
 */
export const RUN_WORST_MS = 2 * RUN_DEADLINE_MS;

/** What one run ended with: every failure (`class/cause`, in order) and the outcomes seen. */
export interface ModelRunReport {
  readonly failures: readonly string[];
  /** The instance's transitions, for a report. */
  readonly trail: readonly string[];
  readonly outcomes: Readonly<Record<InputOutcome, number>>;
}

/** Options of one run. */
export interface RunOptions {
  readonly id: string;
  readonly seed: number;
  /** Inline only: every async step of the plugin resolves through this scheduler. */
  readonly scheduler?: fc.Scheduler;
  /** Where to add what this run exercised. */
  readonly stats?: ModelStats;
  /** Run every check, even those a known bug breaks (a known bug's reproduction). */
  readonly despiteKnownBugs?: boolean;
  /** Real time the run (and, apart, its teardown) may take; default {@link RUN_DEADLINE_MS}. */
  readonly deadlineMs?: number;
}

/**
 * Runs `commands` against a fresh system and checks everything; throws a `ModelViolation`
 * (or what a command threw) on the first problem.
 *
 * @example
 * ```ts
 * await runLifecycleModel('inline', plan, ['start', 'run', 'send(hang)', 'expire'].map(parseModelCommand), { id: 'r1', seed: 1 });
 * ```
 */
export async function runLifecycleModel(mode: Mode, plan: ModelPlan, commands: Iterable<ModelCommand>, options: RunOptions): Promise<ModelRunReport> {
  const system = ModelSystem.create(mode, plan, {
    id: options.id,
    seed: options.seed,
    scheduled: options.scheduler !== undefined,
    despiteKnownBugs: options.despiteKnownBugs === true,
  });
  const hook = globalThis as SchedulerHook;
  const scheduler = options.scheduler;
  const deadlineMs = options.deadlineMs ?? RUN_DEADLINE_MS;
  const stuck = (error: unknown): never => {
    if (error instanceof KitDeadlineExceeded) {
      throw new ModelViolation([`the run was still going after ${deadlineMs} ms, in: ${system.phase}`], system.observer.trail);
    }
    throw error;
  };
  const t0 = performance.now();
  const run = async (): Promise<void> => {
    await system.begin();
    const tb = performance.now();
    if (scheduler === undefined) {
      await fc.asyncModelRun(() => ({ model: {} satisfies Model, real: system }), commands);
      const tc = performance.now();
      system.phase = 'finish';
      await system.finish();
      if (process.env.DBG) console.log(`begin ${(tb - t0).toFixed(0)} cmds ${(tc - tb).toFixed(0)} finish ${(performance.now() - tc).toFixed(0)} :: ${[...commands].map(String).join(',')} ${JSON.stringify(plan)} ${JSON.stringify(system.p.status.counters)}`);
    } else {
      hook.__seamModelScheduler = scheduler;
      await fc.scheduledModelRun(scheduler, () => ({ model: {} satisfies Model, real: system }), commands);
      // Steps begun from here on are plain promises; those still waiting are released.
      delete hook.__seamModelScheduler;
      system.phase = 'finish';
      await system.finish(() => scheduler.waitIdle());
    }
  };
  let failed = false;
  try {
    await withDeadline(run(), deadlineMs, 'the run').catch(stuck);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    delete hook.__seamModelScheduler;
    system.phase = 'dispose';
    // Bounded too, apart: a teardown that never ends is a failure of its own, reported
    // unless the run already failed (that report comes first).
    await withDeadline(system.dispose(), deadlineMs, 'the teardown').catch((error: unknown) => {
      if (!failed) stuck(error);
    });
    options.stats?.add(system, [...commands].length, performance.now() - t0);
  }
  return {
    failures: [...system.observer.failures.values()].map((f) => `${f.class}/${f.cause}`),
    trail: system.observer.trail,
    outcomes: { ...system.calls.counts },
  };
}
