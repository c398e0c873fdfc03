import { PluginSeamError } from '../errors.js';
import type { Mode } from '../machines/lifecycleTypes.js';
import type { CheckKind, TranscriptDifference } from './CheckReport.js';

/**
 * A conformance case failed: thrown by `run()` of a {@link ConformanceCase}. The message
 * says what broke and, for a comparison, the first step where the transcripts part with
 * both values. `expected` and `actual` hold those two values, so a test runner that knows
 * the convention (vitest, jest, mocha) shows them as a diff.
 *
 * @example
 * ```ts
 * try {
 *   await c.run();
 * } catch (e) {
 *   if (e instanceof ConformanceError) console.log(e.check, e.mode, e.differences.length);
 *   throw e;
 * }
 * ```
 */
export class ConformanceError extends PluginSeamError {
  /** What was checked. */
  readonly check: CheckKind;
  /** The mode of the failing run. */
  readonly mode: Mode;
  /** The transcript differences, for a comparison case. */
  readonly differences: readonly TranscriptDifference[];
  /** The reference value of the first difference, if any (for test runners' diffs). */
  readonly expected: string | undefined;
  /** The differing value of the first difference, if any. */
  readonly actual: string | undefined;

  constructor(check: CheckKind, mode: Mode, message: string, differences: readonly TranscriptDifference[] = []) {
    super('ERR_CONFORMANCE', message);
    this.check = check;
    this.mode = mode;
    this.differences = differences;
    this.expected = differences[0]?.expected;
    this.actual = differences[0]?.actual;
  }
}
