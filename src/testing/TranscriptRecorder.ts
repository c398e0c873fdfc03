import type { TranscriptSource } from './CheckOptions.js';
import { canonicalValue } from './canonicalValue.js';
import { scrubScenarioTag } from './resolvePluginModule.js';

/**
 * One step of a transcript: the plugin's `start`, one input, or its `stop`, with what the
 * application saw during it, one line each: `emit <channel> <value>`, then the input's
 * outcome (`reply <value>`, `done`, `failed <error>`, `dropped <reason>`, `lost <reason>`).
 */
export interface TranscriptStep {
  /** `start`, `input 3` (1-based), or `stop`. */
  readonly label: string;
  /** The input's 1-based position in the inputs; absent for `start` and `stop`. */
  readonly input?: number;
  readonly lines: readonly string[];
}

/** What one generation of one instance did with the inputs, step by step. */
export interface Transcript {
  readonly steps: readonly TranscriptStep[];
}

interface MutableStep {
  readonly label: string;
  readonly input?: number;
  readonly lines: string[];
}

/**
 * Records the transcript of one generation. An output is filed under the input it was
 * emitted for (the runtime tags it with the input's `seq`); an output emitted outside any
 * input call (start, stop, a timer) goes to the step under way when it arrived.
 */
export class TranscriptRecorder {
  readonly #steps: MutableStep[];
  readonly #bySeq = new Map<number, MutableStep>();
  readonly #normalize: ((value: unknown, source: TranscriptSource) => unknown) | undefined;
  #active: MutableStep;

  constructor(inputCount: number, normalize: ((value: unknown, source: TranscriptSource) => unknown) | undefined) {
    const start: MutableStep = { label: 'start', lines: [] };
    this.#steps = [start];
    for (let i = 1; i <= inputCount; i++) this.#steps.push({ label: `input ${i}`, input: i, lines: [] });
    this.#steps.push({ label: 'stop', lines: [] });
    this.#active = start;
    this.#normalize = normalize;
  }

  /** Input `input` (1-based) was submitted with instance sequence number `seq`. */
  enterInput(input: number, seq: number): void {
    const step = this.#steps[input];
    if (step === undefined) return;
    this.#bySeq.set(seq, step);
    this.#active = step;
  }

  enterStop(): void {
    const stop = this.#steps.at(-1);
    if (stop !== undefined) this.#active = stop;
  }

  output(channel: string, value: unknown, inputSeq: number | undefined): void {
    const step = (inputSeq === undefined ? undefined : this.#bySeq.get(inputSeq)) ?? this.#active;
    step.lines.push(`emit ${channel} ${this.#describe(value, { kind: 'output', channel })}`);
  }

  /** The outcome of input `input` (1-based): a reply value, or a line such as `done`. */
  outcome(input: number, outcome: { readonly reply: unknown } | { readonly line: string }): void {
    const step = this.#steps[input];
    if (step === undefined) return;
    step.lines.push('line' in outcome ? scrubScenarioTag(outcome.line) : `reply ${this.#describe(outcome.reply, { kind: 'reply' })}`);
  }

  transcript(): Transcript {
    return { steps: this.#steps.map((s) => ({ ...s, lines: [...s.lines] })) };
  }

  // Scrubbed: a plugin that reports its own URL must not differ between scenarios.
  #describe(value: unknown, source: TranscriptSource): string {
    if (this.#normalize === undefined) return scrubScenarioTag(canonicalValue(value));
    try {
      return scrubScenarioTag(canonicalValue(this.#normalize(value, source)));
    } catch (error) {
      return `<normalize threw: ${error instanceof Error ? error.message : String(error)}>`;
    }
  }
}
