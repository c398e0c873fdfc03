import type { Mode } from '../machines/lifecycleTypes.js';
import { InvalidOptions, InvalidPlugin } from '../errors.js';
import type { CheckOptions } from './CheckOptions.js';
import type { CheckCaseResult, CheckReport } from './CheckReport.js';
import { CheckSession } from './CheckSession.js';
import { casesOf } from './conformanceCases.js';
import { describeCheckInput } from './describeCheckInput.js';

/**
 * Runs the conformance kit against a plugin module in every mode asked for and reports
 * every case (the same cases as {@link conformanceCases}), with the transcript differences
 * behind any failed comparison. `seam check` is this plus {@link formatCheckReport}.
 *
 * Rejects with `InvalidPlugin` when the module cannot be read, is TypeScript while a
 * worker or a child must import it, or is refused as a plugin in every mode (no valid
 * default export, or its import throws); with `InvalidOptions` for bad options — among them
 * an input the runtime would refuse, and a `normalize` that threw while every check passed
 * (each mode recorded the same failure where the values were: the pass would prove nothing).
 * Any other problem is a finding in the report, never a rejection.
 *
 * What it does not do: prove the plugin correct (it checks the contract and compares runs
 * of the same inputs; what the outputs should be is the author's own tests' job), tell
 * nondeterminism from mode dependence (mask wall-clock values or random ids with
 * `normalize`), or protect the caller from the plugin: inline runs import and execute the
 * module in the calling process (a plugin that calls `process.exit` at import ends it).
 *
 * @example
 * ```ts
 * import { checkPlugin, formatCheckReport } from 'plugin-seam/testing';
 *
 * const report = await checkPlugin('./dist/my-plugin.js', { modes: ['inline', 'isolated'] });
 * console.log(formatCheckReport(report));
 * process.exitCode = report.passed ? 0 : 1;
 * ```
 */
export async function checkPlugin(module: string | URL, options: CheckOptions = {}): Promise<CheckReport> {
  const t0 = performance.now();
  const session = new CheckSession(module, options);
  await session.ready();
  const cases = casesOf(session);
  const results = new Map<number, CheckCaseResult>();
  const evaluate = async (index: number): Promise<void> => {
    const c = cases[index];
    if (c === undefined) return;
    const t = performance.now();
    const verdict = await session.evaluate(c.check, c.mode);
    results.set(index, {
      name: c.name,
      mode: c.mode,
      check: c.check,
      passed: verdict.passed,
      ...(verdict.passed || verdict.message === undefined ? {} : { message: verdict.message }),
      differences: verdict.differences,
      durationMs: Math.round(performance.now() - t),
    });
  };
  // Runs are independent (each has its own runtime and module instance), so the modes out of
  // thread run side by side. Inline runs execute the plugin on this thread: run beside them, a
  // synchronous stretch of the plugin (a heavy start, a busy input) held their starts, inputs
  // and heartbeats, and showed up as their failures ("behaves differently depending on its
  // mode"). So inline runs alone, first. The starts come first: a module refused as a plugin
  // everywhere is a usage error, and finding that out must not wait for the other runs.
  // Running everything at once was measured slower on two cores (launches contend).
  const { modes } = session.options;
  const phases: readonly (readonly Mode[])[] = [modes.filter((mode) => mode === 'inline'), modes.filter((mode) => mode !== 'inline')].filter((group) => group.length > 0);
  for (const group of phases) {
    await Promise.all([...cases.entries()].filter(([, c]) => c.check === 'start' && group.includes(c.mode)).map(([i]) => evaluate(i)));
  }
  const refused = await Promise.all(modes.map((mode) => session.invalidPlugin(mode)));
  const [first] = refused;
  if (first !== undefined && refused.every((r) => r !== undefined)) {
    throw new InvalidPlugin(`${session.url.href} is not a plugin module in any mode: ${first}`);
  }
  // Only where the plugin started: elsewhere those cases are not checked, and a start that
  // hangs would cost each of these runs its whole start deadline again (a plugin that never
  // starts took four of them per mode).
  const started = new Set<Mode>();
  for (const mode of modes) if ((await session.run('baseline', mode)).instances[0]?.generations[0]?.start?.ok === true) started.add(mode);
  for (const group of phases) await Promise.all(group.filter((mode) => started.has(mode)).flatMap((mode) => [session.run('poisoned', mode), session.run('pair', mode)]));
  // Every run is done: the remaining cases only read what the runs observed.
  for (const i of cases.keys()) if (!results.has(i)) await evaluate(i);
  const ordered = cases.map((_, i) => results.get(i)).filter((r): r is CheckCaseResult => r !== undefined);
  const { normalizeFailure } = session.options;
  if ('error' in normalizeFailure && ordered.every((r) => r.passed)) {
    // Every mode recorded "normalize threw" where the values were: a pass that proves nothing
    // about the plugin. (A failure stands: the transcripts differed, as the report shows.)
    const error = normalizeFailure.error;
    throw new InvalidOptions(`normalize threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return {
    module: session.url.href,
    modes: session.options.modes,
    passed: ordered.every((r) => r.passed),
    results: ordered,
    differences: ordered.flatMap((r) => r.differences),
    inputs: session.options.inputs.map(describeCheckInput),
    durationMs: Math.round(performance.now() - t0),
  };
}
