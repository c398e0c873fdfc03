import { DEADLINE_STRETCH } from '../actors/RuntimeClock.js';
import type { Mode } from '../machines/lifecycleTypes.js';
import type { CheckOptions } from './CheckOptions.js';
import type { CheckKind } from './CheckReport.js';
import { CHECKS, CheckSession, checkTitle } from './CheckSession.js';
import { ConformanceError } from './ConformanceError.js';

/**
 * One conformance case: a named check of one mode, runnable by any test framework.
 * `run` is a plain function (no `this`), so it can be handed to `it` as it is.
 *
 * @example
 * ```ts
 * for (const c of conformanceCases(pluginUrl)) it(c.name, c.run, c.timeoutMs);
 * ```
 */
export interface ConformanceCase {
  /** e.g. `[isolated] stops cleanly`. */
  readonly name: string;
  readonly mode: Mode;
  readonly check: CheckKind;
  /**
   * A test timeout that covers every run this case may have to make if it is the first to
   * need them, at the check's deadlines (generous: a passing case takes far less).
   */
  readonly timeoutMs: number;
  /** Resolves when the check holds; rejects with {@link ConformanceError} (or `InvalidPlugin` for an unreadable module). */
  readonly run: () => Promise<void>;
}

/** Slack per generation over the runtime's deadlines (the kit's own grace, three calls). */
const SLACK_MS = 6_000;

/** The cases of a session, in report order: per mode, per check; `modes` only for non-reference modes. */
export function casesOf(session: CheckSession): ConformanceCase[] {
  const { start, stop, input } = session.options.timeouts;
  // Each deadline may stretch (realClock gives back the time the loop was held, once).
  const generation = DEADLINE_STRETCH * (start + stop + input) + SLACK_MS;
  const generations: Record<CheckKind, number> = { start: 2, inputs: 2, stop: 2, restart: 2, payload: 3, instances: 4, modes: 4 };
  return session.options.modes.flatMap((mode) =>
    CHECKS.filter((check) => check !== 'modes' || mode !== session.reference).map((check): ConformanceCase => {
      const name = `[${mode}] ${checkTitle(check, session.reference)}`;
      return {
        name,
        mode,
        check,
        // A test runner's timer, too: past 2^31 - 1 ms Node fires it at once.
        timeoutMs: Math.min(generations[check] * generation + 5_000, 2 ** 31 - 1),
        run: async () => {
          await session.ready();
          const verdict = await session.evaluate(check, mode);
          if (!verdict.passed) throw new ConformanceError(check, mode, `${name}\n${verdict.message ?? ''}`, verdict.differences);
        },
      };
    }),
  );
}

/**
 * The conformance kit as test cases for the author's own test runner: every check, in
 * every mode asked for, against one plugin module. Cases share the runs they need (each
 * scenario runs at most once per mode, started by the first case that needs it), and
 * every run shuts its runtime down before its case settles, so nothing is left running
 * between tests. No test framework is imported.
 *
 * The module must be JavaScript that Node can import in a worker and in a child process
 * (Node 20 does not run `.ts` there): point it at your build output. Call this at
 * collection time; it only checks the options and the module reference (throwing `InvalidOptions`, or
 * `InvalidPlugin` for an empty module) and runs nothing.
 * Like {@link checkPlugin}, it does not judge the outputs themselves, only that they follow
 * the contract and are the same wherever and however often the plugin runs.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { conformanceCases } from 'plugin-seam/testing';
 *
 * describe('my-plugin conforms', () => {
 *   const cases = conformanceCases(new URL('../dist/my-plugin.js', import.meta.url), {
 *     config: { threshold: 40 },
 *   });
 *   for (const c of cases) it(c.name, c.run, c.timeoutMs);
 * });
 * ```
 */
export function conformanceCases(module: string | URL, options: CheckOptions = {}): ConformanceCase[] {
  return casesOf(new CheckSession(module, options));
}
