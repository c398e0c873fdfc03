// A model run that never ends fails on its own deadline, naming the command it was stuck
// in, instead of surfacing only as the test's timeout with its commands lost.
import { describe, expect, it } from 'vitest';
import type { ModelSystem } from './ModelSystem.js';
import type { Model, ModelCommand } from './modelCommands.js';
import { DEFAULT_REGRESSION_PLAN } from './regressions.js';
import { runLifecycleModel } from './runLifecycleModel.js';

/** A command whose step never settles: what a hang anywhere below a command looks like. */
const neverEnding: ModelCommand = {
  check: () => true,
  run: async (_model: Model, system: ModelSystem) => {
    system.phase = 'never-ending';
    await new Promise<never>(() => undefined);
  },
  toString: () => 'never-ending',
};

describe('runLifecycleModel', () => {
  it('fails a run still going after its deadline, naming the command it is in, and still tears the system down', async () => {
    const t0 = performance.now();
    const outcome = runLifecycleModel('inline', DEFAULT_REGRESSION_PLAN, [neverEnding], { id: 'stuck', seed: 1, deadlineMs: 300 });
    await expect(outcome).rejects.toMatchObject({ name: 'ModelViolation', message: expect.stringContaining('still going after 300 ms, in: never-ending') as unknown });
    // The deadline, not the test's timeout, ended it (teardown included, bounded apart).
    expect(performance.now() - t0).toBeLessThan(5_000);
  }, 10_000);
});
