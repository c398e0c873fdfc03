// Replays every kept case of the lifecycle model (regressions.ts) on every run, with the
// same checks as the properties: a counterexample once found stays a test.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lifecycleProperty, scheduledLifecycleProperty } from './lifecycleProperty.js';
import { parseModelCommand, parseModelCommands } from './modelCommands.js';
import { KNOWN_BUGS, KNOWN_BUG_SIGNATURES } from './knownBugs.js';
import { DEFAULT_REGRESSION_PLAN, REGRESSIONS } from './regressions.js';
import type { RegressionCase } from './regressions.js';
import { runLifecycleModel } from './runLifecycleModel.js';

async function replay(c: RegressionCase, i: number): Promise<void> {
  if (c.replay !== undefined) {
    const replay = { seed: c.replay.seed, path: c.replay.path, endOnFailure: true };
    if (c.replay.scheduled === true) await fc.assert(scheduledLifecycleProperty(), replay);
    else await fc.assert(lifecycleProperty(c.mode), replay);
    return;
  }
  const commands = parseModelCommands(c.commands ?? '');
  expect(commands.length).toBeGreaterThan(0);
  const report = await runLifecycleModel(c.mode, { ...DEFAULT_REGRESSION_PLAN, ...c.plan }, commands, {
    id: `regression-${i}`,
    seed: i + 1,
    despiteKnownBugs: c.knownBug !== undefined,
  });
  for (const failure of c.expect?.failures ?? []) expect(report.failures, report.trail.join('\n')).toContain(failure);
}

const cases = REGRESSIONS.map((c, i) => [`[${c.mode}] ${c.name}`, c, i] as const);

describe('lifecycle model regressions', () => {
  it.each(cases.filter(([, c]) => c.knownBug === undefined || !KNOWN_BUGS[c.knownBug]))('%s', async (_name, c, i) => {
    await replay(c, i);
  });

  // A known bug's reproduction must fail with the bug's signature until the bug is fixed;
  // then this fails, and its flag in knownBugs.ts goes to false (the case then runs above,
  // as a plain regression).
  it.each(cases.filter(([, c]) => c.knownBug !== undefined && KNOWN_BUGS[c.knownBug]))('known bug, still there: %s', async (_name, c, i) => {
    if (c.knownBug === undefined) return;
    await expect(replay(c, i)).rejects.toThrow(KNOWN_BUG_SIGNATURES[c.knownBug]);
  });

  it('reads every command form the model prints', () => {
    for (const text of ['start', 'run', 'pause', 'stop', 'expire', 'idle', 'kill', 'thaw', 'send(slow)', 'frames(3 poison)', 'tick(0)', 'crash(exit3@idle)', 'freeze(signal)', 'armStop(late)', 'late(after-end)', 'flood(10)']) {
      expect(parseModelCommand(text).toString()).toBe(text);
    }
    expect(() => parseModelCommand('send(teleport)')).toThrow(/unknown model command/);
  });
});
