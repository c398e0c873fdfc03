import type { TransportKind } from '../../adapters/Adapter.js';
import type { Mode } from '../../machines/lifecycleTypes.js';

/** What `seam bench` feeds the plugin: one message, or one frame of a fixed size, over and over. */
export type BenchInput =
  | { readonly kind: 'message'; readonly message: unknown }
  | {
      readonly kind: 'frame';
      readonly width: number;
      readonly height: number;
      readonly format: string;
      /** Bytes of each frame (width × height × bytes per pixel of the format). */
      readonly byteLength: number;
    };

/** One mode, measured: medians over the interleaved rounds. */
export interface ModeMeasured {
  readonly mode: Mode;
  readonly ok: true;
  /** How frames reached the plugin (`direct`, `shared-memory`, or `copy` when isolated has no addon). */
  readonly transport: TransportKind;
  /** From `start()` to `running`, once (a cold start: thread or process launch included). */
  readonly startMs: number;
  /** One input at a time, submission to settlement. */
  readonly roundTrip: { readonly p50Ms: number; readonly p99Ms: number; readonly meanMs: number; readonly samples: number };
  /** `inFlight` inputs kept outstanding: inputs settled per second. */
  readonly throughput: { readonly perSecond: number; readonly inFlight: number; readonly inputs: number };
}

/** One mode that could not be measured, and why. */
export interface ModeFailed {
  readonly mode: Mode;
  readonly ok: false;
  /** Where it failed: starting the plugin, warming up, or during the timed rounds. */
  readonly stage: 'start' | 'warm-up' | 'measure';
  readonly error: string;
}

export type ModeResult = ModeMeasured | ModeFailed;

/** One measured mode against the baseline (inline, unless inline was not measured). */
export interface ModeComparison {
  readonly mode: Mode;
  /** p50 round trip ÷ the baseline's. */
  readonly p50Ratio: number;
  /** Throughput ÷ the baseline's. */
  readonly throughputRatio: number;
  /** Extra p50 round trip over the baseline's, in ms (negative when faster). */
  readonly addedMsPerInput: number;
  /**
   * The cost of this mode for this plugin, 0 or more: the larger of the extra p50 round trip
   * relative to the baseline's p50, and the fraction of the baseline's throughput lost.
   */
  readonly cost: number;
}

/** What `seam bench` advises, in plain words. */
export interface Recommendation {
  /** The recommended mode; undefined when nothing could be compared. */
  readonly mode: Mode | undefined;
  /** What isolation (or the most isolated mode measured) costs this plugin, in one sentence. */
  readonly finding: string;
  /** The advice, starting with the verb: "isolate it", "embed it if you trust it", … */
  readonly advice: string;
}

/** Everything `seam bench` measured and concluded; `--json` prints exactly this. */
export interface BenchReport {
  readonly plugin: { readonly name: string; readonly module: string };
  readonly input: BenchInput;
  /** Timed seconds per mode and measure (round trip, throughput), spread over the rounds. */
  readonly durationS: number;
  readonly rounds: number;
  readonly inFlight: number;
  readonly results: readonly ModeResult[];
  /** The mode the others are compared with: inline when it was measured. */
  readonly baseline: Mode | undefined;
  readonly comparisons: readonly ModeComparison[];
  readonly recommendation: Recommendation;
  /** The rule behind the recommendation, in one line. */
  readonly rule: string;
}
