import { randomUUID } from 'node:crypto';
import type { Mode } from '../machines/lifecycleTypes.js';
import type { CheckOptions, ResolvedCheckOptions } from './CheckOptions.js';
import { resolveCheckOptions } from './CheckOptions.js';
import type { CheckKind, TranscriptDifference } from './CheckReport.js';
import { shortenDiffering } from './canonicalValue.js';
import { compareTranscripts } from './compareTranscripts.js';
import { describeCheckInput } from './describeCheckInput.js';
import type { GenerationLog } from './InstanceDriver.js';
import { SCENARIO_PARAM, assertPluginModuleReadable, pluginModuleUrl } from './resolvePluginModule.js';
import { describeScenario, runScenario } from './runScenario.js';
import type { ScenarioKind, ScenarioRun } from './runScenario.js';
import type { Transcript } from './TranscriptRecorder.js';

/** The verdict of one case. */
export interface CaseVerdict {
  readonly passed: boolean;
  readonly message?: string;
  readonly differences: readonly TranscriptDifference[];
}

/** The checks of every mode, in the order cases are listed. */
export const CHECKS: readonly CheckKind[] = ['start', 'inputs', 'stop', 'restart', 'payload', 'instances', 'modes'];

/** The human title of a check (the case name without its mode). */
export function checkTitle(check: CheckKind, reference: Mode): string {
  switch (check) {
    case 'start':
      return 'loads and starts within the start deadline';
    case 'inputs':
      return 'gives every input exactly one outcome; the ledger balances and in-flight drains to 0';
    case 'stop':
      return 'stops cleanly';
    case 'restart':
      return 'starts again after a stop as generation 2, which handles the inputs and stops cleanly';
    case 'payload':
      return 'gives the same transcript with frames.poisonReleased (reads no frame bytes after onFrame settled)';
    case 'instances':
      return 'gives each of two instances side by side the transcript of one (no state shared between instances)';
    case 'modes':
      return `gives the same transcripts as ${reference}`;
  }
}

const HINTS = {
  ended:
    'likely cause: the generation ended in one run and not in the other (above), so what came after it differs: a failure that depends on timing or on the run — an error thrown in a timer or a callback, a promise rejected with nobody awaiting it, process.exit(), an input over its budget.',
  payloadNoFrame:
    'likely cause: values that change from run to run (times, random ids: mask them with normalize), or state one run leaves to the next (a timer left running after stop(); inline, the modules a plugin imports are shared by the check\'s runs). No frame came before this input: it is not a frame read after onFrame settled.',
  payload:
    'likely cause: the plugin reads frame bytes after its onFrame call settled (it kept frame.data, or a view of it); by then they belong to another frame. Copy what must be kept (frame.data.slice()). ' +
    'If it does not, the two runs differ for another reason: values that change from run to run (times, random ids: mask them with normalize), ' +
    "or state one run leaves to the next (a timer left running after stop(); inline, the modules a plugin imports are shared by the check's runs).",
  sharedInline:
    'likely cause: the instances share state. In inline mode all instances of a module share its module-level variables (and those of the modules it imports); a worker or a process has its own. Keep per-instance state in what start() sets up (e.g. a WeakMap keyed by ctx), not at module level. ' +
    'Or values that change from run to run (times, random ids): mask them with normalize.',
  sharedOther:
    'likely cause: the instances interfere through something outside the plugin (files, ports, other shared resources), or values change from run to run (times, random ids: mask them with normalize).',
  restartOnly:
    'likely cause: state outlives a generation in one mode only. In inline mode module-level variables survive a restart, while a worker or a process starts fresh: reset per-generation state in start().',
  errors:
    "likely cause: an error thrown by the plugin crossed a thread or a process: its name (up to 256 characters) and message travel, but other properties (code, custom fields) and values that cannot be cloned do not. Put what the application needs in the error's message, or return it as a value.",
  buffer:
    'likely cause: a Buffer the plugin returned or emitted: isolated mode delivers it as a Buffer, the other modes as a plain Uint8Array (see the README\'s isolated-mode limits). Return a copy of its own, new Uint8Array(buffer), for the same value in every mode (a view of the Buffer\'s memory carries its whole pool slab inline and embedded).',
  modes:
    'likely cause: behaviour that depends on where the plugin runs: module-level state, timing, thread- or process-wide globals, values that cross a thread or a process differently, or frame bytes read after onFrame settled.',
} as const;

function pass(message?: string): CaseVerdict {
  return { passed: true, ...(message === undefined ? {} : { message }), differences: [] };
}

function fail(message: string, differences: readonly TranscriptDifference[] = []): CaseVerdict {
  return { passed: false, message, differences };
}

/** Lines after the first indented by `by` (already cut to length: shortenDiffering). */
function indent(text: string, by: string): string {
  return text.split('\n').join(`\n${by}`);
}

/** At most a handful of problems, one per line: after a loss, every later input repeats the story. */
function listProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, 5);
  if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
  return shown.join('\n  ');
}

/** What ended each named run's generation early, one line each; undefined when none ended. */
function endedLines(runs: readonly (readonly [string, GenerationLog])[]): string | undefined {
  const lines = runs.flatMap(([name, log]) => (log.ended === undefined ? [] : [`${name}: the generation ended ${log.ended}`]));
  return lines.length === 0 ? undefined : lines.join('\n');
}

function notRun(run: ScenarioRun, log: GenerationLog | undefined, what: string): string | undefined {
  if (run.error !== undefined) return `${what} could not be run: ${run.error}`;
  if (log?.start === undefined) return `${what} did not run`;
  if (!log.start.ok) return `${what} did not start: ${log.start.detail ?? 'unknown reason'}`;
  if (!log.fed || log.transcript === undefined) return `${what} did not complete`;
  return undefined;
}

/**
 * One check of one plugin module: resolves the options once, runs each scenario at most
 * once per mode (cases share the runs, whatever order they are evaluated in), and turns
 * what the runs observed into a verdict per case.
 */
export class CheckSession {
  readonly url: URL;
  readonly options: ResolvedCheckOptions;
  /** Unique per session, so two checks in one process never share an inline module. */
  readonly #tag = randomUUID().slice(0, 8);
  readonly #runs = new Map<string, Promise<ScenarioRun>>();
  #ready: Promise<void> | undefined;

  constructor(module: string | URL, options: CheckOptions = {}) {
    this.options = resolveCheckOptions(options);
    this.url = pluginModuleUrl(module);
  }

  get reference(): Mode {
    return this.options.modes[0] ?? 'inline';
  }

  /** Rejects with `InvalidPlugin` when the module cannot be read (checked once). */
  ready(): Promise<void> {
    this.#ready ??= assertPluginModuleReadable(this.url, this.options.modes);
    return this.#ready;
  }

  /** The run of a scenario in a mode, started on first request. */
  run(kind: ScenarioKind, mode: Mode): Promise<ScenarioRun> {
    const key = `${mode}.${kind}`;
    let run = this.#runs.get(key);
    if (run === undefined) {
      const url = new URL(this.url.href);
      // A URL of its own per scenario: inline runs must not share module state with each
      // other, only the two instances of `pair` must (as in an application).
      url.searchParams.set(SCENARIO_PARAM, `${this.#tag}.${key}`);
      const { progress } = this.options;
      run = this.ready().then(async () => {
        const t0 = performance.now();
        progress({ mode, run: kind, phase: 'begin', text: describeScenario(kind, this.options) });
        try {
          return await runScenario(kind, mode, url, this.options);
        } finally {
          progress({ mode, run: kind, phase: 'end', text: `done in ${((performance.now() - t0) / 1000).toFixed(1)} s` });
        }
      });
      this.#runs.set(key, run);
    }
    return run;
  }

  /** The invalid-plugin reason of `mode`'s first start, if the module was refused as a plugin there. */
  async invalidPlugin(mode: Mode): Promise<string | undefined> {
    const run = await this.run('baseline', mode);
    return run.instances[0]?.generations[0]?.start?.invalidPlugin;
  }

  async evaluate(check: CheckKind, mode: Mode): Promise<CaseVerdict> {
    const baseline = await this.run('baseline', mode);
    const [g1, g2] = baseline.instances[0]?.generations ?? [];
    if (baseline.error !== undefined) return fail(`the check could not run in ${mode}: ${baseline.error}`);
    if (check === 'start') {
      if (g1?.start === undefined) return fail('the plugin was not started');
      return g1.start.ok
        ? pass(`started in ${Math.round(g1.start.ms)} ms`)
        : fail(`the plugin did not start in ${mode}${g1.start.timedOut === true ? ` within ${this.options.timeouts.start} ms` : ''}: ${g1.start.detail ?? ''}`);
    }
    if (g1?.start?.ok !== true) return fail(`not checked: the plugin did not start in ${mode} (see the start case)`);
    switch (check) {
      case 'inputs':
        return g1.problems.length === 0 ? pass() : fail(`in ${mode}, generation 1:\n  ${listProblems(g1.problems)}`);
      case 'stop':
        return g1.stop?.ok === true ? pass() : fail(`stop() in ${mode} did not end cleanly: ${g1.stop?.detail ?? 'not attempted'}`);
      case 'restart':
        return this.#restart(mode, g2);
      case 'payload':
        return this.#payload(mode, g1);
      case 'instances':
        return this.#instances(mode, g1);
      case 'modes':
        return this.#modes(mode, baseline);
    }
  }

  #restart(mode: Mode, g2: GenerationLog | undefined): CaseVerdict {
    if (g2?.start === undefined) return fail(`in ${mode}, start() after stop() was not attempted`);
    if (!g2.start.ok) return fail(`in ${mode}, start() after stop() failed: ${g2.start.detail ?? ''}`);
    const problems = [...g2.problems];
    if (g2.stop?.ok !== true) problems.push(`stop() did not end cleanly: ${g2.stop?.detail ?? 'not attempted'}`);
    return problems.length === 0 ? pass() : fail(`in ${mode}, generation 2:\n  ${listProblems(problems)}`);
  }

  async #payload(mode: Mode, g1: GenerationLog): Promise<CaseVerdict> {
    const run = await this.run('poisoned', mode);
    const poisoned = run.instances[0]?.generations[0];
    const why = notRun(run, poisoned, `the run with frames.poisonReleased in ${mode}`);
    if (why !== undefined || poisoned?.transcript === undefined || g1.transcript === undefined) return fail(why ?? 'no transcript');
    const difference = this.#difference('payload', mode, 'frames.poisonReleased: false', 'with frames.poisonReleased: true', g1.transcript, poisoned.transcript);
    if (difference === undefined) return pass();
    const ended = endedLines([
      ['without poisonReleased', g1],
      ['with poisonReleased', poisoned],
    ]);
    // A frame read after its onFrame settled shows at a later input (or in stop(), after them
    // all; never at start, before any): only if a frame came first.
    const inputsBefore =
      difference.input !== undefined ? this.options.inputs.slice(0, difference.input - 1) : difference.step === 'stop' ? this.options.inputs : [];
    const framesBefore = inputsBefore.some((input) => 'frame' in input);
    const hint = ended !== undefined ? `${ended}\n${HINTS.ended}` : framesBefore ? HINTS.payload : HINTS.payloadNoFrame;
    return fail(this.#explain(difference, `in ${mode}, the transcript with frames.poisonReleased differs`, 'without poisonReleased', 'with poisonReleased', hint), [difference]);
  }

  async #instances(mode: Mode, g1: GenerationLog): Promise<CaseVerdict> {
    const run = await this.run('pair', mode);
    const differences: TranscriptDifference[] = [];
    const messages: string[] = [];
    const endings: string[] = [];
    for (const label of ['A', 'B']) {
      const log = run.instances.find((i) => i.label === label)?.generations[0];
      const why = notRun(run, log, `instance ${label} of two in ${mode}`);
      if (why !== undefined || log?.transcript === undefined || g1.transcript === undefined) return fail(why ?? 'no transcript');
      const difference = this.#difference('instances', mode, 'a single instance', `instance ${label}`, g1.transcript, log.transcript);
      if (difference === undefined) continue;
      differences.push(difference);
      messages.push(this.#explain(difference, `in ${mode}, instance ${label} differs from a single instance`, 'a single instance', `instance ${label}`));
      const ended = endedLines([
        ['a single instance', g1],
        [`instance ${label}`, log],
      ]);
      if (ended !== undefined) endings.push(ended);
    }
    // Breaches of the input contract in these runs are the inputs case's to report; here
    // only a difference from a single instance counts.
    if (differences.length === 0) return pass();
    if (endings.length > 0) messages.push(...new Set(endings), HINTS.ended);
    else messages.push(mode === 'inline' ? HINTS.sharedInline : HINTS.sharedOther);
    return fail(messages.join('\n'), differences);
  }

  async #modes(mode: Mode, baseline: ScenarioRun): Promise<CaseVerdict> {
    const reference = this.reference;
    if (mode === reference) return pass('the reference mode');
    const refRun = await this.run('baseline', reference);
    const differences: TranscriptDifference[] = [];
    const messages: string[] = [];
    const endings: string[] = [];
    for (const g of [0, 1]) {
      const mine = baseline.instances[0]?.generations[g];
      const theirs = refRun.instances[0]?.generations[g];
      const run = `generation ${g + 1}`;
      const why = notRun(baseline, mine, `${run} in ${mode}`) ?? notRun(refRun, theirs, `${run} in ${reference}`);
      if (why !== undefined || mine?.transcript === undefined || theirs?.transcript === undefined) {
        messages.push(`cannot compare ${run}: ${why ?? 'no transcript'}`);
        continue;
      }
      const difference = this.#difference('modes', mode, reference, run, theirs.transcript, mine.transcript);
      if (difference === undefined) continue;
      differences.push(difference);
      messages.push(this.#explain(difference, `${mode} differs from ${reference} in ${run}`, reference, mode));
      const ended = endedLines([
        [`${reference}, ${run}`, theirs],
        [`${mode}, ${run}`, mine],
      ]);
      if (ended !== undefined) endings.push(ended);
    }
    if (differences.length === 0) return messages.length === 0 ? pass() : fail(messages.join('\n'));
    const errorsOnly = differences.every((d) => d.expected.startsWith('failed ') && d.actual.startsWith('failed '));
    if (endings.length > 0) messages.push(...endings, HINTS.ended);
    else if (differences.some((d) => /\bBuffer\(/.test(d.expected) !== /\bBuffer\(/.test(d.actual))) messages.push(HINTS.buffer);
    else messages.push(errorsOnly ? HINTS.errors : differences.every((d) => d.run === 'generation 2') ? HINTS.restartOnly : HINTS.modes);
    return fail(messages.join('\n'), differences);
  }

  #difference(
    check: TranscriptDifference['check'],
    mode: Mode,
    against: string,
    run: string,
    expected: Transcript,
    actual: Transcript,
  ): TranscriptDifference | undefined {
    const divergence = compareTranscripts(expected, actual);
    if (divergence === undefined) return undefined;
    const input = divergence.expected.input ?? divergence.actual.input;
    const described = input === undefined ? undefined : this.options.inputs[input - 1];
    const step = described === undefined ? divergence.expected.label : `${divergence.expected.label} (${describeCheckInput(described)})`;
    return {
      check,
      mode,
      against,
      run,
      step,
      ...(input === undefined ? {} : { input }),
      expected: divergence.expected.lines.join('\n') || '(nothing)',
      actual: divergence.actual.lines.join('\n') || '(nothing)',
      alsoAt: divergence.alsoAt,
    };
  }

  /** `<subject> at <step>:`, then both values, labelled, and where else they part. */
  #explain(d: TranscriptDifference, subject: string, expectedName: string, actualName: string, hint?: string): string {
    const width = Math.max(expectedName.length, actualName.length) + 1;
    const [expected = '', actual = ''] = shortenDiffering([d.expected, d.actual], 240);
    const lines = [
      `${subject} at ${d.step}:`,
      `  ${`${expectedName}:`.padEnd(width)} ${indent(expected, ' '.repeat(width + 3))}`,
      `  ${`${actualName}:`.padEnd(width)} ${indent(actual, ' '.repeat(width + 3))}`,
    ];
    if (d.alsoAt.length > 0) lines.push(`  also differs at: ${d.alsoAt.slice(0, 8).join(', ')}${d.alsoAt.length > 8 ? ', …' : ''}`);
    if (hint !== undefined) lines.push(hint);
    return lines.join('\n');
  }
}
