// The lifecycle properties themselves, shared by the property tests and the regression
// replay (a `{ seed, path }` case replays exactly these). Changing an arbitrary here changes
// what old seeds mean: regressions.ts prefers written command lists for that reason.
import fc from 'fast-check';
import type { Mode } from 'plugin-seam';
import type { ModelStats } from './ModelStats.js';
import { modelCommands } from './modelCommands.js';
import { modelPlan, runLifecycleModel } from './runLifecycleModel.js';

/** Commands per run: at most this many (fast-check's `medium` size averages about half). */
export const MAX_COMMANDS = 25;

/**
 * Random commands and faults against the real runtime in `mode`.
 *
 * @example
 * ```ts
 * await fc.assert(lifecycleProperty('embedded'), { numRuns: 60 });
 * ```
 */
export function lifecycleProperty(mode: Mode, stats?: ModelStats) {
  let runs = 0;
  return fc.asyncProperty(fc.commands(modelCommands(mode), { maxCommands: MAX_COMMANDS, size: 'medium' }), modelPlan(mode), async (commands, plan) => {
    runs += 1;
    await runLifecycleModel(mode, plan, commands, { id: `model-${mode}-${runs}`, seed: runs, ...(stats === undefined ? {} : { stats }) });
  });
}

/**
 * Inline only: the same commands, with a fast-check scheduler deciding when each of the
 * plugin's async steps (start, every input, every emission of `emit`, stop) resolves,
 * relative to one another and to the model's commands.
 */
export function scheduledLifecycleProperty(stats?: ModelStats) {
  let runs = 0;
  return fc.asyncProperty(
    fc.scheduler(),
    fc.commands(modelCommands('inline'), { maxCommands: MAX_COMMANDS, size: 'medium' }),
    modelPlan('inline'),
    async (scheduler, commands, plan) => {
      runs += 1;
      await runLifecycleModel('inline', plan, commands, { id: `scheduled-${runs}`, seed: runs, scheduler, ...(stats === undefined ? {} : { stats }) });
    },
  );
}
