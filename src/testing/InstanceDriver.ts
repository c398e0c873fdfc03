import { DEADLINE_STRETCH } from '../actors/RuntimeClock.js';
import { Observable, of } from 'rxjs';
import type { Subscription } from 'rxjs';
import type { FrameOutcome, LedgerCounters, PluginStatus } from '../actors/instanceTypes.js';
import type { PluginInstance } from '../actors/PluginInstance.js';
import { InputDropped, InputFailed, InputRefused, LifecycleFailure, PluginSeamError, messageOf } from '../errors.js';
import type { ResolvedCheckOptions } from './CheckOptions.js';
import { describeCheckInput } from './describeCheckInput.js';
import { scrubScenarioTag } from './resolvePluginModule.js';
import { TranscriptRecorder } from './TranscriptRecorder.js';
import type { Transcript } from './TranscriptRecorder.js';
import { waitForStatus } from './waitForStatus.js';
import { KitDeadlineExceeded, withDeadline } from './withDeadline.js';

/** How a lifecycle call went. */
export interface CallVerdict {
  readonly ok: boolean;
  /** Why it failed; absent when it succeeded. */
  readonly detail?: string;
  /** Set when the module was refused as a plugin (not importable, no valid default export). */
  readonly invalidPlugin?: string;
  /** The call failed because it ran out of time (not because it threw or ended the plugin). */
  readonly timedOut?: boolean;
  readonly ms: number;
}

/** Everything observed of one generation of one instance. */
export interface GenerationLog {
  readonly generation: number;
  start: CallVerdict | undefined;
  /** Whether every input was fed (false when the generation never started). */
  fed: boolean;
  /** Breaches of the input contract: a missing or extra outcome, a lost input, an unbalanced ledger. */
  readonly problems: string[];
  stop: CallVerdict | undefined;
  readonly recorder: TranscriptRecorder;
  transcript: Transcript | undefined;
  /** What ended the generation while inputs were still coming (class/cause: detail), if anything did. */
  ended?: string;
}

/** Slack over the runtime's own deadlines before the kit gives up waiting. */
const GRACE_MS = 2_000;

/** How long the kit waits for a call the runtime bounds by `deadline`: as far as it stretches, plus slack. */
function kitBound(deadline: number): number {
  return DEADLINE_STRETCH * deadline + GRACE_MS;
}

function balanced(c: LedgerCounters): boolean {
  return c.accepted === c.done + c.failed + c.dropped + c.lost + c.queued + c.inFlight;
}

function describeCounters(c: LedgerCounters): string {
  return `accepted ${c.accepted}, done ${c.done}, failed ${c.failed}, dropped ${c.dropped}, lost ${c.lost}, queued ${c.queued}, in flight ${c.inFlight}`;
}

function describeError(error: unknown): string {
  return scrubScenarioTag(error instanceof PluginSeamError || error instanceof Error ? `${error.name}: ${error.message}` : messageOf(error));
}

function describeStatus(status: PluginStatus): string {
  const failure = status.failure ?? status.lastFailure;
  const why = failure === undefined ? '' : ` (${failure.class}/${failure.cause}${failure.detail === undefined ? '' : `: ${failure.detail}`})`;
  return `${status.state}${why}`;
}

/**
 * The transcript line of a message that did not settle: its kind and reason only. Error
 * messages name the instance and the input's sequence number, which differ between runs
 * that behaved the same.
 */
function transcriptLine(error: unknown): string {
  if (error instanceof InputDropped) return `dropped ${error.reason}`;
  if (error instanceof InputRefused) return `refused ${error.reason}`;
  const cause: unknown = error instanceof PluginSeamError && !(error instanceof LifecycleFailure) ? error.cause : error;
  if (cause instanceof LifecycleFailure) return `lost generation ${cause.generation} ${cause.failureClass}: ${cause.failureCause}`;
  return `lost ${describeError(error)}`;
}

/** Every outcome `connect()` gives for one frame, once its stream completes. */
function outcomesOf(stream: Observable<FrameOutcome>): Promise<FrameOutcome[]> {
  return new Promise((resolve, reject) => {
    const seen: FrameOutcome[] = [];
    stream.subscribe({
      next: (o) => seen.push(o),
      error: reject,
      complete: () => {
        resolve(seen);
      },
    });
  });
}

/**
 * Drives one plugin instance through the kit's inputs the way an application would, one
 * input at a time (each awaited, so every run paces the plugin identically), and records
 * per generation: how start and stop went, every breach of the input contract, and the
 * transcript of outputs and outcomes.
 */
export class InstanceDriver {
  readonly generations: GenerationLog[] = [];
  readonly #p: PluginInstance;
  readonly #options: ResolvedCheckOptions;
  readonly #subscriptions: Subscription[] = [];
  #current: GenerationLog | undefined;
  #base: LedgerCounters | undefined;
  #submitted = 0;

  constructor(instance: PluginInstance, options: ResolvedCheckOptions) {
    this.#p = instance;
    this.#options = options;
    this.#subscriptions.push(
      instance.outputs$.subscribe((o) => {
        this.#current?.recorder.output(o.channel, o.value, o.inputSeq);
      }),
      instance.status$.subscribe((s) => {
        const log = this.#current;
        if (log !== undefined && !balanced(s.counters) && !log.problems.some((p) => p.startsWith('ledger'))) {
          log.problems.push(`ledger out of balance in a published status: ${describeCounters(s.counters)}`);
        }
      }),
    );
  }

  /** Starts (and runs) the next generation; resolves whether it is running. */
  async start(expectedGeneration: number): Promise<boolean> {
    const log: GenerationLog = {
      generation: expectedGeneration,
      start: undefined,
      fed: false,
      problems: [],
      stop: undefined,
      recorder: new TranscriptRecorder(this.#options.inputs.length, this.#options.normalize),
      transcript: undefined,
    };
    this.generations.push(log);
    this.#current = log;
    const t0 = performance.now();
    try {
      await withDeadline(this.#p.start(), kitBound(this.#options.timeouts.start), 'start()');
      await withDeadline(this.#p.run(), GRACE_MS, 'run()');
    } catch (error) {
      const detail = (error as { detail?: unknown }).detail;
      const invalid = typeof detail === 'string' && detail.startsWith('InvalidPlugin: ') ? scrubScenarioTag(detail.slice('InvalidPlugin: '.length)) : undefined;
      const timedOut = error instanceof KitDeadlineExceeded || (error as { failureCause?: unknown }).failureCause === 'timeout';
      log.start = { ok: false, detail: describeError(error), ms: performance.now() - t0, timedOut, ...(invalid === undefined ? {} : { invalidPlugin: invalid }) };
      return false;
    }
    const generation = this.#p.status.generation;
    if (generation !== expectedGeneration) {
      log.start = { ok: false, detail: `started as generation ${generation}, expected generation ${expectedGeneration}`, ms: performance.now() - t0 };
      return false;
    }
    log.start = { ok: true, ms: performance.now() - t0 };
    this.#base = this.#p.status.counters;
    return true;
  }

  /** Feeds input `index` (0-based) and waits for its single outcome. */
  async feed(index: number): Promise<void> {
    const log = this.#current;
    const input = this.#options.inputs[index];
    if (log === undefined || input === undefined) return;
    const n = index + 1;
    this.#submitted += 1;
    log.recorder.enterInput(n, this.#submitted);
    const what = `input ${n} (${describeCheckInput(input)})`;
    const bound = kitBound(this.#options.timeouts.input);
    if ('frame' in input) {
      let outcomes: FrameOutcome[];
      try {
        outcomes = await withDeadline(outcomesOf(this.#p.connect(of(input.frame))), bound, `the outcome of ${what}`);
      } catch (error) {
        log.problems.push(`${what}: ${describeError(error)}`);
        log.recorder.outcome(n, { line: 'no outcome' });
        return;
      }
      if (outcomes.length !== 1) log.problems.push(`${what} got ${outcomes.length} outcomes, expected exactly one`);
      const outcome = outcomes[0];
      if (outcome === undefined) {
        log.recorder.outcome(n, { line: 'no outcome' });
        return;
      }
      const line = outcome.kind === 'done' ? 'done' : `${outcome.kind} ${outcome.reason ?? ''}`.trim();
      log.recorder.outcome(n, { line });
      if (outcome.kind === 'dropped' || outcome.kind === 'lost') log.problems.push(`${what} was ${outcome.kind}: ${outcome.reason ?? ''}${this.#whyEnded(log, outcome.reason ?? '')}`);
      return;
    }
    try {
      const reply = await withDeadline(this.#p.send(input.message), bound, `the reply to ${what}`);
      log.recorder.outcome(n, { reply });
    } catch (error) {
      if (error instanceof InputFailed) {
        // The plugin threw on this input: an input error, part of its behaviour, not a breach.
        log.recorder.outcome(n, { line: `failed ${messageOf(error.cause)}` });
        return;
      }
      log.recorder.outcome(n, { line: transcriptLine(error) });
      const described = describeError(error);
      log.problems.push(`${what}: ${described}${this.#whyEnded(log, described)}`);
    }
  }

  /**
   * Once per generation, on the first input its end cost: what ended it, with the runtime's
   * detail (an exit's stderr tail, the thrown error). The drops that follow name only the
   * class and cause, and a report lists a handful of problems: the reason was cut off.
   */
  #whyEnded(log: GenerationLog, said: string): string {
    const status = this.#p.status;
    const failure = status.failure ?? status.lastFailure;
    if (failure === undefined || failure.generation !== status.generation || log.ended !== undefined) return '';
    const detail = failure.detail === undefined ? undefined : scrubScenarioTag(failure.detail);
    log.ended = `${failure.class}/${failure.cause}${detail === undefined ? '' : `: ${detail}`}`;
    // A lost message's error says it already.
    return detail !== undefined && said.includes(detail) ? '' : `\n    the generation ended ${log.ended}`;
  }

  /** After the last input: in-flight drains to zero, every input is accounted for, the plugin still runs. */
  async settle(): Promise<void> {
    const log = this.#current;
    if (log === undefined) return;
    log.fed = true;
    try {
      await waitForStatus(this.#p, (s) => s.counters.inFlight === 0 && s.counters.queued === 0, GRACE_MS);
    } catch {
      log.problems.push(`in-flight did not drain to 0: ${describeCounters(this.#p.status.counters)}`);
    }
    const status = this.#p.status;
    const c = status.counters;
    const base = this.#base;
    if (!balanced(c)) log.problems.push(`ledger out of balance: ${describeCounters(c)}`);
    if (base !== undefined) {
      const accepted = c.accepted - base.accepted;
      const settled = c.done - base.done + (c.failed - base.failed);
      const count = this.#options.inputs.length;
      if (accepted !== count) log.problems.push(`${accepted} of ${count} inputs were accepted`);
      else if (settled !== count) log.problems.push(`${settled} of ${count} inputs were settled by the plugin (done or failed)`);
    }
    if (status.state !== 'running') log.problems.push(`after the inputs the instance is ${describeStatus(status)}, expected running`);
  }

  /** Stops the generation; records whether it stopped cleanly. */
  async stop(): Promise<void> {
    const log = this.#current;
    if (log === undefined) return;
    log.recorder.enterStop();
    const t0 = performance.now();
    try {
      await withDeadline(this.#p.stop(), kitBound(this.#options.timeouts.stop), 'stop()');
      const status = this.#p.status;
      if (status.state !== 'stopped') log.stop = { ok: false, detail: `stop() resolved in state ${describeStatus(status)}`, ms: performance.now() - t0 };
      else if (status.lingering !== undefined) {
        log.stop = { ok: false, detail: `a generation could not be ended: ${status.lingering.map((f) => f.cause).join(', ')}`, ms: performance.now() - t0 };
      } else log.stop = { ok: true, ms: performance.now() - t0 };
    } catch (error) {
      log.stop = { ok: false, detail: describeError(error), ms: performance.now() - t0 };
    }
    log.transcript = log.recorder.transcript();
  }

  /** Stops listening (the runtime's shutdown ends the instance). */
  dispose(): void {
    const log = this.#current;
    if (log !== undefined) log.transcript ??= log.recorder.transcript();
    for (const s of this.#subscriptions) s.unsubscribe();
  }
}
