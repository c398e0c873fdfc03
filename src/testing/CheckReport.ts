import type { Mode } from '../machines/lifecycleTypes.js';

/**
 * What a conformance case checks:
 * - `start`: the module loads and the plugin starts within the start deadline;
 * - `inputs`: every input ends in exactly one outcome, the ledger balances
 *   (`accepted = done + failed + dropped + lost + queued + inFlight`) and in-flight drains to 0;
 * - `stop`: the plugin stops cleanly (no teardown failure);
 * - `restart`: start → stop → start again gives generation 2, which handles the inputs and stops;
 * - `payload`: the transcript is the same with `frames.poisonReleased: true` (no frame
 *   bytes are read after `onFrame` settled);
 * - `instances`: two instances side by side, inputs interleaved, each give the transcript of
 *   a single instance (no state shared between instances);
 * - `modes`: the transcripts (both generations) are the same as in the reference mode.
 *
 * @example
 * ```ts
 * const failed: CheckKind[] = report.results.filter((r) => !r.passed).map((r) => r.check);
 * ```
 */
export type CheckKind = 'start' | 'inputs' | 'stop' | 'restart' | 'payload' | 'instances' | 'modes';

/**
 * Two transcripts of the same inputs that should be equal and are not: where they part,
 * and both values. Values are one-line renderings of what the application received
 * (`emit <channel> <value>`, `reply <value>`, `failed <error>`…), one per line.
 *
 * @example
 * ```ts
 * for (const d of report.differences) {
 *   console.log(`${d.mode} vs ${d.against}, ${d.run}, ${d.step}:\n  ${d.expected}\n  ${d.actual}`);
 * }
 * ```
 */
export interface TranscriptDifference {
  readonly check: 'payload' | 'instances' | 'modes';
  /** The mode of the run that differs. */
  readonly mode: Mode;
  /** What that run was compared with: a mode name, `frames.poisonReleased: false`, or `a single instance`. */
  readonly against: string;
  /** Which transcript differs: `generation 1` or `generation 2` (modes), `instance A` or `instance B` (instances), `with frames.poisonReleased: true` (payload). */
  readonly run: string;
  /** The first step that differs, e.g. `input 3 (message {type: "ping", n: 1})`, `start` or `stop`. */
  readonly step: string;
  /** The 1-based position of that input in the inputs; absent for `start` and `stop`. */
  readonly input?: number;
  /** The reference value (the lines of that step). */
  readonly expected: string;
  /** The value of the run that differs. */
  readonly actual: string;
  /** The further steps that differ too. */
  readonly alsoAt: readonly string[];
}

/**
 * The result of one conformance case.
 *
 * @example
 * ```ts
 * const failures = report.results.filter((r: CheckCaseResult) => !r.passed);
 * ```
 */
export interface CheckCaseResult {
  /** The case name, e.g. `[embedded] stops cleanly`. */
  readonly name: string;
  readonly mode: Mode;
  readonly check: CheckKind;
  readonly passed: boolean;
  /** Why it failed, possibly several lines; absent when it passed. */
  readonly message?: string;
  /** The transcript differences behind a failed comparison case. */
  readonly differences: readonly TranscriptDifference[];
  /** Wall time of this case's evaluation, including the runs it waited for (runs are shared between cases). */
  readonly durationMs: number;
}

/**
 * What {@link checkPlugin} found. Plain data: `JSON.stringify` gives the `--json` output of
 * `seam check`.
 *
 * @example
 * ```ts
 * const report = await checkPlugin('./dist/my-plugin.js');
 * if (!report.passed) console.log(formatCheckReport(report));
 * ```
 */
export interface CheckReport {
  /** The module checked, as a URL. */
  readonly module: string;
  /** The modes checked; the first is the reference of the `modes` comparison. */
  readonly modes: readonly Mode[];
  /** Whether every case passed. */
  readonly passed: boolean;
  /** Every case, in order: per mode, then per check. */
  readonly results: readonly CheckCaseResult[];
  /** Every transcript difference found, across all cases. */
  readonly differences: readonly TranscriptDifference[];
  /** The inputs fed, described, in order (input 1 first). */
  readonly inputs: readonly string[];
  readonly durationMs: number;
}
