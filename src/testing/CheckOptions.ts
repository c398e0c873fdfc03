import { frameFieldsProblem } from '../actors/frameFieldsProblem.js';
import type { FrameInput } from '../actors/instanceTypes.js';
import type { LoadOptions } from '../actors/LoadOptions.js';
import { resolveLoadOptions } from '../actors/LoadOptions.js';
import { copyValueFor } from '../adapters/copyValue.js';
import { InvalidOptions } from '../errors.js';
import type { Mode } from '../machines/lifecycleTypes.js';
import { defaultCheckInputs } from './defaultCheckInputs.js';

/**
 * One input the conformance kit feeds to a plugin: a frame (copied once on submission, so
 * the same object can be fed to every run) or a message (structured-cloned).
 *
 * @example
 * ```ts
 * const inputs: CheckInput[] = [
 *   { frame: { width: 2, height: 2, format: 'gray', timestamp: 0, data: new Uint8Array([1, 2, 3, 4]) } },
 *   { message: { type: 'reset' } },
 * ];
 * ```
 */
export type CheckInput = { readonly frame: FrameInput } | { readonly message: unknown };

/**
 * Deadlines of a check, in milliseconds. `start` and `stop` are handed to the runtime as
 * they would be in an application (`timeouts.start` / `timeouts.stop`); `input` becomes the
 * per-input budget, so a plugin that never settles an input is declared lost instead of
 * hanging the check.
 *
 * @example
 * ```ts
 * await checkPlugin('./my-plugin.js', { timeouts: { start: 2_000, input: 500 } });
 * ```
 */
export interface CheckTimeouts {
  /** From launch until the plugin's `start()` resolved. Default 10 000 (the runtime's default). */
  readonly start?: number | undefined;
  /** From the stop request until the plugin's `stop()` resolved. Default 5 000 (the runtime's default). */
  readonly stop?: number | undefined;
  /** Budget of one input. Default 5 000. */
  readonly input?: number | undefined;
}

/**
 * Where a value given to {@link CheckOptions.normalize} came from: an output channel, or the
 * reply to a message.
 *
 * @example
 * ```ts
 * const normalize = (value: unknown, source: TranscriptSource) =>
 *   source.kind === 'reply' ? { ...(value as object), requestId: '<id>' } : value;
 * ```
 */
export type TranscriptSource = { readonly kind: 'output'; readonly channel: string } | { readonly kind: 'reply' };

/**
 * Options of {@link checkPlugin} and {@link conformanceCases}. Every field has a default.
 *
 * @example
 * ```ts
 * const options: CheckOptions = {
 *   modes: ['inline', 'embedded'],
 *   config: { threshold: 40 },
 *   inputs: [...defaultCheckInputs(), { message: { type: 'flush' } }],
 *   timeouts: { start: 2_000 },
 *   // Wall-clock values differ from run to run: leave them out of the comparison.
 *   normalize: (value, source) => (source.kind === 'output' && source.channel === 'timing' ? 'elapsed' : value),
 * };
 * ```
 */
export interface CheckOptions {
  /** The modes to check, the first being the reference of the cross-mode comparison. Default all three. */
  readonly modes?: readonly Mode[] | undefined;
  /** Handed to the plugin as `ctx.config`, in every run. */
  readonly config?: unknown;
  /** The inputs fed, in this order, to every run. Default {@link defaultCheckInputs}. */
  readonly inputs?: readonly CheckInput[] | undefined;
  readonly timeouts?: CheckTimeouts | undefined;
  /**
   * Maps every emitted value and every reply before it is recorded, so values that may
   * legitimately differ between runs (wall-clock times, random ids) can be masked. Default:
   * values are recorded as they are.
   */
  readonly normalize?: ((value: unknown, source: TranscriptSource) => unknown) | undefined;
  /** Isolated mode: what the plugin process may see (as `runtime.load({ isolation })`). */
  readonly isolation?: LoadOptions['isolation'] | undefined;
  /** Resource limits of every run (as `runtime.load({ limits })`). */
  readonly limits?: LoadOptions['limits'] | undefined;
  /**
   * Told when each run of a mode begins and ends: a check waits out a plugin's deadlines (a
   * start that never settles costs its whole `timeouts.start`), and without word of it a
   * caller cannot tell a slow plugin from a stuck check. `seam check` prints, on stderr, the
   * runs that take more than a second. What it throws is ignored.
   */
  readonly progress?: ((event: CheckProgress) => void) | undefined;
}

/**
 * One step of a check, for {@link CheckOptions.progress}: a run of one mode began or ended.
 * A check makes three runs per mode: `baseline` (two generations of one instance), `poisoned`
 * (released frames overwritten) and `pair` (two instances side by side).
 *
 * @example
 * ```ts
 * await checkPlugin('./my-plugin.js', {
 *   progress: (event) => {
 *     if (event.phase === 'begin') console.error(`${event.mode}: ${event.text}…`);
 *   },
 * });
 * ```
 */
export interface CheckProgress {
  readonly mode: Mode;
  readonly run: 'baseline' | 'poisoned' | 'pair';
  readonly phase: 'begin' | 'end';
  /** What the run does (`begin`), or how long it took (`end`), in words. */
  readonly text: string;
}

/** {@link CheckOptions} with every default applied and every value checked. */
export interface ResolvedCheckOptions {
  readonly modes: readonly Mode[];
  readonly config: unknown;
  readonly inputs: readonly CheckInput[];
  readonly timeouts: { readonly start: number; readonly stop: number; readonly input: number };
  readonly normalize: ((value: unknown, source: TranscriptSource) => unknown) | undefined;
  /** The first error `normalize` threw, if any: checkPlugin rejects with it a report that would pass. */
  readonly normalizeFailure: { error?: unknown };
  readonly isolation: LoadOptions['isolation'];
  readonly limits: LoadOptions['limits'];
  /** Never throws into the check (see CheckOptions.progress). */
  readonly progress: (event: CheckProgress) => void;
}

const MODES: readonly Mode[] = ['inline', 'embedded', 'isolated'];

function positiveInt(path: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptions(`${path} must be a positive integer (milliseconds)`);
  }
  return value;
}

/** A type guard would narrow readonly lists to `any[]`: this only answers the question. */
function isNonEmptyList(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

function resolveModes(modes: readonly Mode[] | undefined): readonly Mode[] {
  if (modes === undefined) return MODES;
  if (!isNonEmptyList(modes)) throw new InvalidOptions('modes must be a non-empty list of modes');
  const seen = new Set<Mode>();
  for (const mode of modes) {
    if (!MODES.includes(mode)) throw new InvalidOptions(`modes: unknown mode ${JSON.stringify(mode)} (expected ${MODES.join(', ')})`);
    if (seen.has(mode)) throw new InvalidOptions(`modes: ${mode} is listed twice`);
    seen.add(mode);
  }
  return [...modes];
}


/** Why the runtime would refuse `frame` (the rules of `connect()`), or undefined. */
function frameProblem(frame: unknown): string | undefined {
  if (typeof frame !== 'object' || frame === null) return 'must be an object';
  const { data, width, height, format, timestamp } = frame as Record<string, unknown>;
  return frameFieldsProblem(data, width, height, format, timestamp);
}

/** Why `message` cannot be sent (it must be structured-cloneable), or undefined. */
function messageProblem(message: unknown): string | undefined {
  try {
    structuredClone(message);
    return undefined;
  } catch (error) {
    return `must be structured-cloneable (${error instanceof Error ? error.message : String(error)})`;
  }
}

function resolveInputs(inputs: readonly CheckInput[] | undefined): readonly CheckInput[] {
  if (inputs === undefined) return defaultCheckInputs();
  if (!isNonEmptyList(inputs)) throw new InvalidOptions('inputs must be a non-empty list');
  inputs.forEach((input: unknown, i) => {
    const record = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : undefined;
    const isFrame = record !== undefined && 'frame' in record;
    const isMessage = record !== undefined && 'message' in record;
    if (isFrame === isMessage) throw new InvalidOptions(`inputs[${i}] must be { frame } or { message }`);
    // An input the runtime would refuse is the caller's mistake, not a finding on the plugin.
    const problem = isFrame ? frameProblem(record?.frame) : messageProblem(record?.message);
    if (problem !== undefined) throw new InvalidOptions(`inputs[${i}].${isFrame ? 'frame' : 'message'}: ${problem}`);
  });
  return [...inputs];
}

/**
 * `normalize`, noting the first error it throws: every mode would record the same "threw"
 * for the value, and the comparison would pass whatever the plugin did.
 */
function recordingThrows(
  normalize: (value: unknown, source: TranscriptSource) => unknown,
  failure: { error?: unknown },
): (value: unknown, source: TranscriptSource) => unknown {
  return (value, source) => {
    try {
      return normalize(value, source);
    } catch (error) {
      if (!('error' in failure)) failure.error = error;
      throw error;
    }
  };
}

const KNOWN_OPTIONS = ['modes', 'config', 'inputs', 'timeouts', 'normalize', 'isolation', 'limits', 'progress'];
const KNOWN_TIMEOUTS = ['start', 'stop', 'input'];

/** Throws InvalidOptions at the first own key of `value` not in `known` (a misspelt option is not a default kept). */
function checkKnown(value: unknown, known: readonly string[], path: string): void {
  if (typeof value !== 'object' || value === null) return;
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidOptions(`unknown option ${path}${key} (known${path === '' ? '' : ` in ${path.slice(0, -1)}`}: ${known.join(', ')})`);
  }
}

/**
 * What the runtime's `load()` would refuse in a mode, refused now as the caller's mistake —
 * not found by every run and reported as the plugin's failure ("the check could not run").
 */
function checkLoadable(resolved: ResolvedCheckOptions): void {
  for (const mode of resolved.modes) {
    try {
      resolveLoadOptions(
        {
          id: 'check',
          module: 'check-plugin.js',
          mode,
          timeouts: resolved.timeouts,
          ...(resolved.isolation === undefined ? {} : { isolation: resolved.isolation }),
          ...(resolved.limits === undefined ? {} : { limits: resolved.limits }),
        },
        5_000,
      );
    } catch (error) {
      if (error instanceof InvalidOptions) throw new InvalidOptions(`${error.message} (in ${mode})`, { cause: error });
      throw error;
    }
    const values: [string, unknown][] = [['config', resolved.config]];
    resolved.inputs.forEach((input, i) => {
      if ('message' in input) values.push([`inputs[${i}].message`, input.message]);
    });
    for (const [path, value] of values) {
      try {
        copyValueFor(mode, value);
      } catch (error) {
        throw new InvalidOptions(`${path} cannot be handed to a plugin in ${mode} mode: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
  }
}

/** Applies the defaults of {@link CheckOptions}; throws `InvalidOptions` naming the offending field. */
export function resolveCheckOptions(options: CheckOptions = {}): ResolvedCheckOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptions('check options must be an object');
  checkKnown(options, KNOWN_OPTIONS, '');
  checkKnown(options.timeouts, KNOWN_TIMEOUTS, 'timeouts.');
  const { normalize, progress } = options;
  const normalizeFailure: { error?: unknown } = {};
  if (normalize !== undefined && typeof normalize !== 'function') {
    throw new InvalidOptions('normalize must be a function');
  }
  if (progress !== undefined && typeof progress !== 'function') {
    throw new InvalidOptions('progress must be a function');
  }
  try {
    structuredClone(options.config);
  } catch {
    throw new InvalidOptions('config must be structured-cloneable');
  }
  const resolved: ResolvedCheckOptions = {
    modes: resolveModes(options.modes),
    config: options.config,
    inputs: resolveInputs(options.inputs),
    timeouts: {
      start: positiveInt('timeouts.start', options.timeouts?.start, 10_000),
      stop: positiveInt('timeouts.stop', options.timeouts?.stop, 5_000),
      input: positiveInt('timeouts.input', options.timeouts?.input, 5_000),
    },
    normalize: normalize === undefined ? undefined : recordingThrows(normalize, normalizeFailure),
    normalizeFailure,
    isolation: options.isolation,
    limits: options.limits,
    progress: (event) => {
      try {
        progress?.(event);
      } catch {
        // A progress reporter is told, never heard: the check goes on whatever it does.
      }
    },
  };
  checkLoadable(resolved);
  return resolved;
}
