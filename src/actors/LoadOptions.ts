import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IsolationSettings, PluginModuleRef, ResourceLimits } from '../adapters/Adapter.js';
import { InvalidOptions } from '../errors.js';
import type { BackoffSettings, Mode, RestartBudget, RestartPolicy, SupervisionSettings } from '../machines/lifecycleTypes.js';
import type { PluginDefinition } from '../plugin/types.js';

/** What happens to a frame that arrives while `frames.queue` frames already wait. */
export type OverflowPolicy = 'block' | 'drop-oldest' | 'drop-newest';

/** Frame delivery options. */
export interface FrameOptions {
  /** Frames that may wait for delivery before the overflow policy applies. Default 8. */
  readonly queue?: number | undefined;
  /**
   * `block` (default): never drop; frames beyond `queue` wait (copied if they are not slots).
   * `drop-oldest`: drop the oldest waiting frame. `drop-newest`: drop the arriving frame.
   */
  readonly overflow?: OverflowPolicy | undefined;
  /**
   * Slots in the frame pool (bounds `acquire()`). Default: `queue` + 4. A frame of the
   * application's own buffer is copied into a free slot; with none free it waits as a heap
   * copy, and moves into a slot freed by the time it is handed over (out of thread, a frame
   * not in a slot goes by message, cloned).
   */
  readonly slots?: number | undefined;
  /** Largest frame in bytes; out of thread, the size of each shared slot. Default 8 MiB (a 1080p RGBA frame fits). */
  readonly maxFrameBytes?: number | undefined;
  /** Overwrite released slots with 0xDE, so a kept `frame.data` reads garbage. Default false. */
  readonly poisonReleased?: boolean | undefined;
  /**
   * With `block`: once more than `queue` frames wait and they hold this many bytes (each
   * counted with 512 more for the host's bookkeeping of it), further frames are refused
   * (outcome `dropped`, reason `refused: queue full …`) rather than held without bound while
   * the plugin stalls. Slots from `acquire()` are paced by the pool and rarely reach it.
   * Default 256 MiB.
   */
  readonly maxQueuedBytes?: number | undefined;
}

/** Restart policy options; every field has a default. */
export interface RestartOptions {
  /** Default `permanent`. */
  readonly policy?: RestartPolicy | undefined;
  /** At most this many restarts after `lost` within the window. Default 5 in 60 s. */
  readonly intensity?: { readonly [K in keyof RestartBudget]?: RestartBudget[K] | undefined } | undefined;
  /** At most this many restarts after `startup` failures within the window. Default 3 in 60 s. */
  readonly startup?: { readonly [K in keyof RestartBudget]?: RestartBudget[K] | undefined } | undefined;
  /** Default: 100 ms initial, ×2, at most 10 s, ±20 % jitter. */
  readonly backoff?: { readonly [K in keyof BackoffSettings]?: BackoffSettings[K] | undefined } | undefined;
  /** Running this long resets the backoff. Default 30 s. */
  readonly resetAfterMs?: number | undefined;
  /** Whether a plugin throwing on one input loses its generation. Default `continue`. */
  readonly onInputError?: 'continue' | 'restart' | undefined;
}

/** Deadlines in milliseconds. */
export interface TimeoutOptions {
  /** From launch until the plugin's `start()` resolved. Default 10 s. */
  readonly start?: number | undefined;
  /**
   * From the stop request until the plugin's `stop()` resolved (out of thread, also the wait,
   * 2 s at most, for the worker or process to end after it). Default 5 s.
   */
  readonly stop?: number | undefined;
  /** Liveness deadline, for modes with a heartbeat. Default 5 s. */
  readonly heartbeat?: number | undefined;
  /** Budget of one input; past it the generation is `lost` (`unresponsive`). Default: none. */
  readonly input?: number | undefined;
}

/**
 * Options of `runtime.load`: the options every load takes, where the plugin comes from and
 * runs ({@link PluginPlacement}), and its `config` ({@link PluginConfigOption}).
 *
 * The type refuses a definition object with `mode: 'embedded'` or `'isolated'` (it cannot
 * cross a thread or a process; `load()` refuses it too), and a definition that types its
 * config loaded without one (`load()` cannot tell, and the plugin would read a `ctx.config`
 * of `undefined`).
 *
 * @example
 * ```ts
 * const p = runtime.load({
 *   id: 'edges',
 *   module: new URL('./edge-detector.js', import.meta.url),
 *   mode: 'inline',
 *   config: { threshold: 40 },
 *   frames: { queue: 4, overflow: 'drop-oldest' },
 *   restart: { policy: 'permanent', intensity: { maxRestarts: 3, withinMs: 10_000 } },
 *   timeouts: { start: 2_000, input: 100 },
 * });
 * ```
 */
export type LoadOptions<Config = unknown> = LoadOptionsCommon & PluginPlacement<Config> & PluginConfigOption<Config>;

/** The options of `runtime.load` that do not depend on the mode or the plugin. */
export interface LoadOptionsCommon {
  /** Unique within the runtime. */
  readonly id: string;
  readonly frames?: FrameOptions | undefined;
  /** Messages accepted and not yet settled (waiting, or being handled); beyond it `send()` is refused. Default 1024. */
  readonly messages?: { readonly queue?: number | undefined } | undefined;
  readonly restart?: RestartOptions | undefined;
  readonly timeouts?: TimeoutOptions | undefined;
  /** Resource limits; each mode enforces what it can (see the README). */
  readonly limits?: { readonly maxHeapMb?: number | undefined; readonly maxArrayBufferMb?: number | undefined } | undefined;
  /** Isolated mode only: what the plugin process may see. */
  readonly isolation?: IsolationOptions | undefined;
}

/**
 * Where a plugin comes from (`module`) and where it executes (`mode`, default `inline`). A
 * path or a `file:` URL runs in every mode; the definition object itself only inline.
 *
 * @example
 * ```ts
 * runtime.load({ id: 'a', module: './detector.js', mode: 'isolated' });
 * runtime.load({ id: 'b', module: detector }); // a definition: inline
 * ```
 */
export type PluginPlacement<Config = unknown> =
  | {
      /** Where the plugin executes. Default `inline`. */
      readonly mode?: 'inline' | undefined;
      /** A path, a `file:` URL, or the plugin definition itself. */
      readonly module: string | URL | PluginDefinition<Config>;
    }
  | {
      /** Where the plugin executes. */
      readonly mode: 'embedded' | 'isolated';
      /** A path or a `file:` URL: a definition object cannot cross a thread or a process. */
      readonly module: string | URL;
    };

/**
 * The plugin's `config`: optional unless the definition types one that excludes `undefined`.
 *
 * Handed to the plugin as `ctx.config`: structured-cloned once, by `load()` (which throws
 * `InvalidOptions` when it cannot be), and each generation gets its own copy of that
 * snapshot — changes to the object after `load()` reach no generation, a restart included.
 *
 * @example
 * ```ts
 * const detector = definePlugin<{ threshold: number }>({ name: 'detector', onFrame() {} });
 * runtime.load({ id: 'd', module: detector, config: { threshold: 40 } }); // config required
 * ```
 */
export type PluginConfigOption<Config = unknown> = undefined extends Config
  ? { /** Handed to the plugin as `ctx.config` (see {@link PluginConfigOption}). */ readonly config?: Config | undefined }
  : { /** Handed to the plugin as `ctx.config` (see {@link PluginConfigOption}). */ readonly config: Config };

/**
 * What an isolated plugin process may see. By default its environment is empty: the
 * host's variables (secrets included) do not leak unless listed.
 */
export interface IsolationOptions {
  /** Variables set in the child's environment. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Names of host variables copied into the child's environment. */
  readonly inheritEnv?: readonly string[] | undefined;
  /**
   * Node's permission model, a seat belt and not a sandbox (network, environment and
   * signals are not restricted by it). `true` allows reading only the runtime's files and
   * the plugin module's directory; or list more paths.
   */
  readonly permission?: boolean | { readonly allowFsRead?: readonly string[] | undefined; readonly allowFsWrite?: readonly string[] | undefined } | undefined;
  /**
   * The child's pipe is read at up to 200,000 messages/s (bursts of 400,000) and 512 MiB/s
   * (bursts of 128 MiB): a plugin sending faster waits, nothing is lost. One that keeps the
   * reader at those rates for this long, in ms, is a flood: `lost`/`protocol`. Default 10,000;
   * 0 makes the first burst over the rates a flood.
   */
  readonly floodMs?: number | undefined;
}

/** {@link LoadOptions} with every default applied and every value checked. */
export interface ResolvedLoadOptions {
  readonly id: string;
  readonly module: PluginModuleRef;
  readonly mode: Mode;
  readonly config: unknown;
  readonly frames: { readonly [K in keyof FrameOptions]-?: Exclude<FrameOptions[K], undefined> };
  readonly messageQueue: number;
  readonly supervision: SupervisionSettings;
  readonly timeouts: { readonly start: number; readonly stop: number; readonly heartbeat: number; readonly input: number | undefined };
  readonly limits: ResourceLimits;
  readonly isolation: IsolationSettings;
}

const MODES: readonly Mode[] = ['inline', 'embedded', 'isolated'];
/** Default of `isolation.floodMs`: an honest burst of ~2 million messages over the rate still gets through. */
const DEFAULT_FLOOD_MS = 10_000;

/** An option whose value is not checked key by key (the application's or the environment's). */
const OPEN = null;
type KnownKeys = { readonly [key: string]: KnownKeys | typeof OPEN };
const BUDGET_KEYS: KnownKeys = { maxRestarts: OPEN, withinMs: OPEN };

/**
 * Every option name `load()` knows, nested: a misspelt one (`frmes`, `timeouts.stpo`) is an
 * error, not a default silently kept. Checked at compile time against {@link LoadOptions}.
 */
const KNOWN_KEYS = {
  id: OPEN,
  module: OPEN,
  mode: OPEN,
  config: OPEN,
  frames: { queue: OPEN, overflow: OPEN, slots: OPEN, maxFrameBytes: OPEN, poisonReleased: OPEN, maxQueuedBytes: OPEN },
  messages: { queue: OPEN },
  restart: {
    policy: OPEN,
    intensity: BUDGET_KEYS,
    startup: BUDGET_KEYS,
    backoff: { initialMs: OPEN, maxMs: OPEN, factor: OPEN, jitter: OPEN },
    resetAfterMs: OPEN,
    onInputError: OPEN,
  },
  timeouts: { start: OPEN, stop: OPEN, heartbeat: OPEN, input: OPEN },
  limits: { maxHeapMb: OPEN, maxArrayBufferMb: OPEN },
  isolation: { env: OPEN, inheritEnv: OPEN, permission: { allowFsRead: OPEN, allowFsWrite: OPEN }, floodMs: OPEN },
} as const satisfies { readonly [K in keyof Required<LoadOptionsCommon & PluginPlacement & PluginConfigOption>]: KnownKeys | typeof OPEN } & KnownKeys;

/** Throws InvalidOptions at the first own key of `value` (a plain object) that `known` lacks. */
function checkKeys(value: unknown, known: KnownKeys, path: string): void {
  if (!isPlainObject(value)) return;
  for (const key of Object.keys(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (!Object.hasOwn(known, key)) {
      throw new InvalidOptions(`unknown option ${at} (known${path === '' ? '' : ` in ${path}`}: ${Object.keys(known).join(', ')})`);
    }
    const nested = known[key];
    if (nested === undefined || nested === OPEN) continue;
    const child = value[key];
    // A group of options is an object (`restart: 'never'` would otherwise be ignored whole);
    // `permission` alone may also be a boolean.
    if (child !== undefined && !isPlainObject(child) && !(at === 'isolation.permission' && typeof child === 'boolean')) {
      throw new InvalidOptions(`${at} must be an object of options (${Object.keys(nested).join(', ')}), got ${describeValue(child)}`);
    }
    checkKeys(child, nested, at);
  }
}

/**
 * An object of named fields: a literal of any realm, one with no or another prototype
 * (`process.env`, `Object.create(defaults)`), a class instance — not a Map, a Set, a Date, an
 * array or another built-in, which an option group was taken for with no keys.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const tag = Object.prototype.toString.call(value);
  // A module namespace (`await import('./env.js')`) is one too.
  return tag === '[object Object]' || tag === '[object Module]';
}

/** The most a frame pool holds: its slots, aligned (see resolveLoadOptions). */
const MAX_POOL_BYTES = 2 ** 32;

/** The longest delay a timer can hold (a Node `setTimeout` past it fires after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration a timer waits for, in ms: an integer in min..MAX_TIMER_MS. */
function durationMs(path: string, value: unknown, fallback: number, min = 1): number {
  return integerIn(path, value, fallback, min, MAX_TIMER_MS, 'ms');
}

/**
 * The shortest `timeouts.heartbeat`: the guest beats, and the host samples, every
 * heartbeat / 5 but at most every 10 ms, so a shorter deadline could never be met.
 */
const MIN_HEARTBEAT_MS = 50;
/**
 * The shortest restart budget window. A window shorter than a restart takes cannot count
 * restarts: with no backoff (`initialMs: 0`) a plugin that always crashes was restarted for
 * ever, a dozen processes a second, and never given up.
 */
const MIN_RESTART_WINDOW_MS = 1_000;

/** `timeouts.heartbeat` checked; 0 (no heartbeat) where the mode has none (`heartbeatDefault` 0). */
function heartbeatOf(value: unknown, heartbeatDefault: number): number {
  const heartbeat = durationMs('timeouts.heartbeat', value, heartbeatDefault === 0 ? MIN_HEARTBEAT_MS : heartbeatDefault, MIN_HEARTBEAT_MS);
  return heartbeatDefault === 0 ? 0 : heartbeat;
}

/** The smallest `limits.maxHeapMb` a plugin process starts with (measured: 8 starts a plugin, 4 does not start Node). */
const MIN_HEAP_MB = 8;

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== 'Object' && name !== '' ? `a ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}

function positiveInt(path: string, value: unknown, fallback: number): number {
  return integerIn(path, value, fallback, 1);
}

function nonNegativeInt(path: string, value: unknown, fallback: number): number {
  return integerIn(path, value, fallback, 0);
}

/** Every integer option: `fallback` when it is not given, else an integer in min..max or InvalidOptions. */
function integerIn(path: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, unit?: 'ms'): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  let wanted: string;
  if (max === Number.MAX_SAFE_INTEGER && (min === 0 || min === 1)) wanted = `${min === 1 ? 'a positive' : 'a non-negative'} integer${unit === undefined ? '' : ` (${unit})`}`;
  else wanted = `an integer ${unit === undefined ? '' : `number of ${unit} `}in ${min}..${max}`;
  throw new InvalidOptions(`${path} must be ${wanted}, got ${describeValue(value)}`);
}

function oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptions(`${path} must be one of ${allowed.join(', ')}, got ${describeValue(value)}`);
  }
  return value as T;
}

function moduleRef(mode: Mode, module: unknown): PluginModuleRef {
  if (module instanceof URL) return { url: module.href };
  if (typeof module === 'string') {
    if (module.length === 0) throw new InvalidOptions('module must not be empty');
    if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !isAbsolute(module)) return { url: module };
    return { url: pathToFileURL(isAbsolute(module) ? module : resolve(module)).href };
  }
  if (typeof module === 'object' && module !== null) {
    if (mode !== 'inline') {
      throw new InvalidOptions(`mode "${mode}" needs a module path or URL (a definition object cannot cross a thread or a process)`);
    }
    return { definition: module as PluginDefinition };
  }
  throw new InvalidOptions('module must be a path, a URL, or (inline) a plugin definition');
}

function stringList(path: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string' && v.length > 0)) {
    throw new InvalidOptions(`${path} must be a list of non-empty strings`);
  }
  return value;
}

function resolveIsolation(isolation: IsolationOptions | undefined): IsolationSettings {
  const env: Record<string, string> = {};
  for (const name of stringList('isolation.inheritEnv', isolation?.inheritEnv)) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const given: unknown = isolation?.env ?? {};
  if (!isPlainObject(given)) throw new InvalidOptions(`isolation.env must be an object of names to values, got ${describeValue(given)}`);
  for (const [name, value] of Object.entries(given)) {
    // What the child's environment can hold: `A=B` would become another variable, NUL cannot be passed.
    if (name.length === 0 || name.includes('=') || name.includes('\0')) throw new InvalidOptions(`isolation.env: ${JSON.stringify(name)} is not a variable name`);
    if (typeof value !== 'string' || value.includes('\0')) throw new InvalidOptions(`isolation.env.${name} must be a string without NUL`);
    env[name] = value;
  }
  const floodMs = integerIn('isolation.floodMs', isolation?.floodMs, DEFAULT_FLOOD_MS, 0, Number.MAX_SAFE_INTEGER, 'ms');
  const permission = isolation?.permission;
  if (permission === undefined || permission === false) return { env, permission: undefined, floodMs };
  if (permission === true) return { env, permission: { allowFsRead: [], allowFsWrite: [] }, floodMs };
  return {
    env,
    floodMs,
    permission: {
      allowFsRead: stringList('isolation.permission.allowFsRead', permission.allowFsRead),
      allowFsWrite: stringList('isolation.permission.allowFsWrite', permission.allowFsWrite),
    },
  };
}

/**
 * The protective options given to `options` that its mode cannot apply: `isolation.*` outside
 * isolated mode (the plugin runs in this process, with its environment and rights), `limits.*`
 * inline (the plugin runs on this thread). Accepted all the same — the mode is a deployment
 * decision, and the same options must load in every mode — but said (see createRuntime).
 */
export function optionsWithoutEffect(mode: Mode, options: LoadOptions): readonly string[] {
  // Values that ask for nothing (`permission: false`, `env: {}`, `inheritEnv: []`) lose
  // nothing; `permission: {}` turns the permission model on, as `true` does.
  const asks = (key: string, value: unknown): boolean => {
    if (value === undefined) return false;
    if (key === 'permission') return value !== false;
    if (key === 'env' || key === 'inheritEnv') return !(Array.isArray(value) ? value.length === 0 : isPlainObject(value) && Object.keys(value).length === 0);
    return true;
  };
  const given = (group: object | undefined, prefix: string): string[] =>
    group === undefined || group === null ? [] : Object.keys(group).filter((key) => asks(key, (group as Record<string, unknown>)[key])).map((key) => `${prefix}.${key}`);
  return [...(mode === 'isolated' ? [] : given(options.isolation, 'isolation')), ...(mode === 'inline' ? given(options.limits, 'limits') : [])];
}

/** Applies defaults and checks every option; throws {@link InvalidOptions} with the offending path. */
export function resolveLoadOptions(options: LoadOptions, heartbeatDefault: number): ResolvedLoadOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptions('load() needs an options object');
  if (typeof options.id !== 'string' || options.id.length === 0) throw new InvalidOptions('id must be a non-empty string');
  checkKeys(options, KNOWN_KEYS, '');
  const mode = oneOf('mode', options.mode, MODES, 'inline');
  const queue = positiveInt('frames.queue', options.frames?.queue, 8);
  const restart = options.restart ?? {};
  const initialMs = durationMs('restart.backoff.initialMs', restart.backoff?.initialMs, 100, 0);
  const backoff: BackoffSettings = {
    initialMs,
    // The default cap never cuts a first delay asked for: 20 s alone waited 10 s.
    maxMs: durationMs('restart.backoff.maxMs', restart.backoff?.maxMs, Math.max(10_000, initialMs), 0),
    // Only a missing value takes the default: `null` is a value, refused below like any other.
    factor: restart.backoff?.factor === undefined ? 2 : restart.backoff.factor,
    jitter: restart.backoff?.jitter === undefined ? 0.2 : restart.backoff.jitter,
  };
  // Both given: a first delay above the cap was quietly capped. A cap alone below the default
  // first delay is a shorter backoff, as asked.
  if (restart.backoff?.initialMs !== undefined && restart.backoff.maxMs !== undefined && backoff.initialMs > backoff.maxMs) {
    throw new InvalidOptions(`restart.backoff.initialMs (${backoff.initialMs}) must be at most restart.backoff.maxMs (${backoff.maxMs})`);
  }
  if (!(typeof backoff.factor === 'number' && backoff.factor >= 1 && Number.isFinite(backoff.factor))) {
    throw new InvalidOptions('restart.backoff.factor must be a finite number ≥ 1');
  }
  if (!(typeof backoff.jitter === 'number' && backoff.jitter >= 0 && backoff.jitter <= 1)) throw new InvalidOptions('restart.backoff.jitter must be a number between 0 and 1');
  // The longest wait, jitter included, must still fit a timer (Node fires a longer one at once).
  if (backoff.maxMs * (1 + backoff.jitter) > MAX_TIMER_MS) {
    // Name what the application set: a cap it left out is its initialMs.
    const name = restart.backoff?.maxMs === undefined ? 'restart.backoff.initialMs (the cap when maxMs is left out)' : 'restart.backoff.maxMs';
    throw new InvalidOptions(`${name} × (1 + jitter) must be at most ${MAX_TIMER_MS} ms (a timer's longest), got ${Math.round(backoff.maxMs * (1 + backoff.jitter))}`);
  }
  const slots = positiveInt('frames.slots', options.frames?.slots, queue + 4);
  const maxFrameBytes = integerIn('frames.maxFrameBytes', options.frames?.maxFrameBytes, 8 * 1024 * 1024, 1, 2 ** 32 - 1);
  // Out of thread the slots are one shared buffer, each slot 64-byte aligned, and a typed
  // array (or a memfd here) spans at most 4 GiB: checked in every mode, so the same options
  // load in every mode (inline took a 4.02 GiB pool that embedded and isolated refused).
  const poolBytes = Math.ceil(maxFrameBytes / 64) * 64 * slots;
  if (poolBytes > MAX_POOL_BYTES) {
    throw new InvalidOptions(`frames.slots × frames.maxFrameBytes: ${slots} slots of ${maxFrameBytes} bytes take ${poolBytes} bytes, above the ${MAX_POOL_BYTES} (4 GiB) a frame pool holds — fewer slots, or a smaller maxFrameBytes`);
  }
  // Only a missing value takes the default: `null` is a value, refused like any other.
  const poisonReleased: unknown = options.frames?.poisonReleased === undefined ? false : options.frames.poisonReleased;
  if (typeof poisonReleased !== 'boolean') throw new InvalidOptions(`frames.poisonReleased must be a boolean, got ${describeValue(poisonReleased)}`);
  const inputBudget = options.timeouts?.input;
  return {
    id: options.id,
    mode,
    module: moduleRef(mode, options.module),
    config: options.config,
    frames: {
      queue,
      overflow: oneOf('frames.overflow', options.frames?.overflow, ['block', 'drop-oldest', 'drop-newest'], 'block'),
      slots,
      // A ring entry carries a frame's length in 32 bits: larger passed load() and then failed
      // every start out of thread (inline took it), until the restart budget was spent.
      maxFrameBytes,
      poisonReleased,
      maxQueuedBytes: positiveInt('frames.maxQueuedBytes', options.frames?.maxQueuedBytes, 256 * 1024 * 1024),
    },
    messageQueue: positiveInt('messages.queue', options.messages?.queue, 1024),
    supervision: {
      policy: oneOf('restart.policy', restart.policy, ['permanent', 'transient', 'never'], 'permanent'),
      intensity: {
        maxRestarts: nonNegativeInt('restart.intensity.maxRestarts', restart.intensity?.maxRestarts, 5),
        withinMs: durationMs('restart.intensity.withinMs', restart.intensity?.withinMs, 60_000, MIN_RESTART_WINDOW_MS),
      },
      startup: {
        maxRestarts: nonNegativeInt('restart.startup.maxRestarts', restart.startup?.maxRestarts, 3),
        withinMs: durationMs('restart.startup.withinMs', restart.startup?.withinMs, 60_000, MIN_RESTART_WINDOW_MS),
      },
      backoff,
      resetAfterMs: durationMs('restart.resetAfterMs', restart.resetAfterMs, 30_000),
      onInputError: oneOf('restart.onInputError', restart.onInputError, ['continue', 'restart'], 'continue'),
    },
    timeouts: {
      start: durationMs('timeouts.start', options.timeouts?.start, 10_000),
      stop: durationMs('timeouts.stop', options.timeouts?.stop, 5_000),
      // Checked in every mode (inline took anything, even "soon"), used only out of thread.
      heartbeat: heartbeatOf(options.timeouts?.heartbeat, heartbeatDefault),
      input: inputBudget === undefined ? undefined : durationMs('timeouts.input', inputBudget, 1),
    },
    limits: {
      // Below this Node cannot even start (--max-old-space-size=4 dies in its bootstrap): a
      // limit under it failed every start as startup/signal, not as the limit it is.
      maxHeapMb: options.limits?.maxHeapMb === undefined ? undefined : integerIn('limits.maxHeapMb', options.limits.maxHeapMb, 0, MIN_HEAP_MB, 2 ** 31 - 1),
      maxArrayBufferMb:
        options.limits?.maxArrayBufferMb === undefined ? undefined : positiveInt('limits.maxArrayBufferMb', options.limits.maxArrayBufferMb, 1),
    },
    isolation: resolveIsolation(options.isolation),
  };
}
