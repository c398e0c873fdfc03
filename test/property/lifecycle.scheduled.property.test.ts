// The lifecycle model with fast-check's scheduler (inline, where the test can hand it to the
// plugin: the model plugin reads it off globalThis). Every async step of the plugin — start,
// each input, each emission of `emit`, stop — resolves only when the scheduler says, so runs
// explore orders of plugin steps, runtime reactions and model commands (a stop while an
// input awaits its step, a deadline passing before a reply, a restart between two emits…)
// that plain runs, where every step resolves at once, never reach. The same invariants as
// lifecycle.property.test.ts are checked after every command.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRuntime } from 'plugin-seam';
import { SimulatedClock } from 'xstate';
import { fixture } from '../conformance/harness.js';
import { ModelStats } from './ModelStats.js';
import { scheduledLifecycleProperty } from './lifecycleProperty.js';
import { RUN_WORST_MS } from './runLifecycleModel.js';

const RUNS = Number(process.env.SEAM_PROPERTY_RUNS ?? 100);
// No run starts later than 15 s plus the longest a run can last before the timeout.
const TIMEOUT_MS = 60_000 + RUNS * 500 + RUN_WORST_MS;

interface SchedulerHook {
  __seamModelScheduler?: fc.Scheduler;
}

describe('lifecycle model [inline, scheduled]', () => {
  it('keeps every invariant whatever order the plugin steps resolve in', async () => {
    const stats = new ModelStats();
    const unexpected: unknown[] = [];
    const record = (error: unknown): void => {
      unexpected.push(error);
    };
    process.on('unhandledRejection', record);
    try {
      await fc.assert(scheduledLifecycleProperty(stats), { numRuns: RUNS, interruptAfterTimeLimit: TIMEOUT_MS - 15_000 - RUN_WORST_MS, markInterruptAsFailure: false });
    } finally {
      process.off('unhandledRejection', record);
    }
    console.log(stats.summary('lifecycle model [inline, scheduled]'));
    expect(unexpected).toEqual([]);
    expect(stats.runs).toBeGreaterThan(0);
  }, TIMEOUT_MS);

  // The scheduler must really be in charge of the plugin's steps, or the property above
  // proves nothing about orderings: here an order-dependent claim ("a reply always comes
  // before the next command") must be refuted.
  it('is in control: it finds an order in which a reply comes after the next command', async () => {
    const hook = globalThis as SchedulerHook;
    const result = await fc.check(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const clock = new SimulatedClock();
        const runtime = createRuntime({ clock, seed: 1 });
        const p = runtime.load({ id: 'control', module: fixture('model-plugin'), mode: 'inline' });
        hook.__seamModelScheduler = s;
        try {
          const order: string[] = [];
          const started = p.start().then(() => p.run());
          await s.waitFor(started);
          const reply = p.send({ op: 'echo', tag: 'a', value: 1 }).then(() => order.push('reply'));
          const next = s.schedule(Promise.resolve()).then(() => order.push('next command'));
          await s.waitFor(Promise.all([reply, next]));
          return order[0] === 'reply';
        } finally {
          delete hook.__seamModelScheduler;
          await runtime.shutdown();
        }
      }),
      { numRuns: 50 },
    );
    expect(result.failed).toBe(true);
  });
});
