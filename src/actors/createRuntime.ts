import type { RuntimeClock } from './RuntimeClock.js';
import { realClock, wallClock } from './RuntimeClock.js';
import type { Adapter } from '../adapters/Adapter.js';
import { EmbeddedAdapter } from '../adapters/embedded/EmbeddedAdapter.js';
import { InlineAdapter } from '../adapters/inline/InlineAdapter.js';
import { IsolatedAdapter } from '../adapters/isolated/IsolatedAdapter.js';
import { copyValueFor } from '../adapters/copyValue.js';
import { InvalidOptions, RuntimeShutDown, messageOf } from '../errors.js';
import type { Mode } from '../machines/lifecycleTypes.js';
import type { LoadOptions } from './LoadOptions.js';
import { optionsWithoutEffect, resolveLoadOptions } from './LoadOptions.js';
import { PluginInstance } from './PluginInstance.js';
import { guardInspect } from './guardInspect.js';
import type { InspectOption } from './guardInspect.js';

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /**
   * XState inspection observer, given to every instance's actor: pass
   * `createWebSocketInspector({ url }).inspect` (from `@statelyai/inspect`) to watch every
   * plugin instance in the Stately inspector. An observer that throws changes nothing: the
   * first error is reported as a process warning (`PLUGIN_SEAM_INSPECT_THREW`), the rest are
   * ignored.
   */
  readonly inspect?: InspectOption | undefined;
  /**
   * The clock of every lifecycle timer and input budget. Default: real time (deadlines give
   * back a stall of the host, once; backoff and restart windows run on wall time). Tests pass
   * xstate's `SimulatedClock` to drive deadlines, backoff and windows deterministically.
   */
  readonly clock?: RuntimeClock | undefined;
  /** Seed of the restart jitter; default random. Fix it to make a run reproducible. */
  readonly seed?: number | undefined;
}

/** The plugin runtime: loads plugin instances and shuts them all down. */
export interface Runtime {
  /**
   * Loads a plugin instance (state `loaded`; nothing runs until `start()`). Throws
   * `InvalidOptions` for bad options, a duplicate id, or a frame pool that cannot be made
   * (out of memory or descriptors; its `cause` says which), `RuntimeShutDown` after shutdown.
   */
  load<Config = unknown>(options: LoadOptions<Config>): PluginInstance;
  /** The loaded instances, in load order. */
  readonly instances: readonly PluginInstance[];
  /**
   * Stops one instance (within its stop deadline), ends its actor and streams as shutdown
   * does, and forgets it: its id may be loaded again, and its frame memory (a pool of
   * shared slots: `frames.slots` × `frames.maxFrameBytes`; out of process, a shared-memory
   * descriptor) is closed, freed once nothing references the instance. A stopped instance
   * keeps that memory until it is unloaded, so that `start()` can use it again. Resolves
   * once it is gone; `InvalidOptions` for an id that is not loaded (once `shutdown()` has
   * begun, it resolves when the shutdown is done, whatever the id: every instance goes). Calls on the unloaded
   * instance then reject: `start()`, `run()`, `pause()` and `acquire()` with `InvalidState`
   * (state `unloaded`), inputs with `InputRefused` ("the instance was unloaded").
   *
   * @example
   * ```ts
   * const p = runtime.load({ id: 'exporter', module: './exporter.js', mode: 'isolated' });
   * await p.start();
   * // ... later, for good:
   * await runtime.unload('exporter');
   * ```
   */
  unload(id: string): Promise<void>;
  /**
   * Stops every instance at once (asked in reverse load order; each within its stop
   * deadline, so it takes the longest deadline, not their sum), then ends every actor and
   * stream, and empties `instances`. Pending inputs settle (dropped or lost); no call stays pending.
   * Idempotent.
   */
  shutdown(): Promise<void>;
}

/**
 * Creates a plugin runtime.
 *
 * @example
 * ```ts
 * import { createRuntime } from 'plugin-seam';
 *
 * const runtime = createRuntime();
 * const p = runtime.load({ id: 'hello', module: './hello-plugin.js', mode: 'inline' });
 * p.outputs$.subscribe((o) => console.log(o.channel, o.value));
 * await p.start();
 * await p.run();
 * console.log(await p.send('world'));
 * await runtime.shutdown();
 * ```
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  checkRuntimeOptions(options);
  const clock = options.clock ?? realClock;
  const wall = options.clock ?? wallClock;
  const inspect = guardInspect(options.inspect);
  const adapters: Partial<Record<Mode, Adapter>> = {
    inline: new InlineAdapter(),
    embedded: new EmbeddedAdapter(),
    isolated: new IsolatedAdapter(),
  };
  const instances: PluginInstance[] = [];
  const ids = new Set<string>();
  let seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  let shutdown: Promise<void> | undefined;
  /** Stops an instance within its deadline, then ends it for good (unload and shutdown). */
  const retire = async (instance: PluginInstance, by: 'unload' | 'shutdown'): Promise<void> => {
    instance.retiring(by);
    // A teardown failure is already in the instance's status; it ends all the same.
    await instance.stop().catch(() => undefined);
    instance.dispose(by);
  };

  return {
    get instances() {
      return [...instances];
    },
    load(loadOptions) {
      if (shutdown !== undefined) throw new RuntimeShutDown();
      // Checked before its mode is read: `load()` or `load(null)` threw a TypeError.
      if (typeof loadOptions !== 'object' || (loadOptions as LoadOptions | null) === null) throw new InvalidOptions('load() needs an options object');
      const mode = loadOptions.mode ?? 'inline';
      const adapter = adapters[mode];
      if (adapter === undefined) throw new InvalidOptions(`mode "${mode}" is not available in this runtime`);
      let resolved;
      try {
        resolved = resolveLoadOptions(loadOptions, adapter.heartbeatMs);
      } catch (error) {
        // Named by its instance when its id is known: an application loading ten plugins from
        // a file must be told which entry is wrong.
        const id = typeof loadOptions.id === 'string' && loadOptions.id.length > 0 ? loadOptions.id : undefined;
        if (!(error instanceof InvalidOptions) || error.instanceId !== undefined || id === undefined) throw error;
        throw new InvalidOptions(`${error.message} (instance "${id}")`, { cause: error.cause, instanceId: id });
      }
      if (ids.has(resolved.id)) throw new InvalidOptions(`an instance with id "${resolved.id}" is already loaded`, { instanceId: resolved.id });
      let config: unknown;
      try {
        // A snapshot: every generation (every restart) starts from the config as it was
        // given here, whatever the application's object holds by then.
        config = copyValueFor(mode, resolved.config);
      } catch (error) {
        throw new InvalidOptions(`config of "${resolved.id}" is not structured-cloneable: ${messageOf(error)}`, { cause: error, instanceId: resolved.id });
      }
      seed = (seed + 0x9e3779b9) | 0;
      let instance: PluginInstance;
      try {
        instance = PluginInstance.create({ ...resolved, config }, { adapter, clock, wallClock: wall, inspect, seed });
      } catch (error) {
        // The frame pool could not be made: out of memory or, out of process, of descriptors
        // (each instance holds one shared-memory segment until unloaded).
        const { slots, maxFrameBytes } = resolved.frames;
        throw new InvalidOptions(`cannot create the frame pool of "${resolved.id}" (frames.slots ${slots} × frames.maxFrameBytes ${maxFrameBytes}): ${messageOf(error)}`, { cause: error, instanceId: resolved.id });
      }
      ids.add(resolved.id);
      instances.push(instance);
      // Once loaded: a load refused later (its config, its pool) would have used up the warning.
      warnWithoutEffect(mode, optionsWithoutEffect(mode, loadOptions));
      return instance;
    },
    async unload(id) {
      // Shutting down or shut down: every instance goes (or went) with it.
      if (shutdown !== undefined) return shutdown;
      const instance = instances.find((candidate) => candidate.id === id);
      if (instance === undefined) throw new InvalidOptions(`no instance with id "${id}" is loaded`);
      await retire(instance, 'unload');
      // Another unload of the same id may have finished meanwhile.
      const at = instances.indexOf(instance);
      if (at === -1) return;
      instances.splice(at, 1);
      ids.delete(id);
    },
    shutdown() {
      shutdown ??= (async () => {
        // Every stop at once, asked in reverse load order: a shutdown takes the longest stop
        // deadline, not their sum (ten hung plugins held a SIGTERM'd host 50 s), and no
        // instance waits its turn running — or restarting — meanwhile.
        await Promise.all([...instances].reverse().map((instance) => retire(instance, 'shutdown')));
        instances.length = 0;
        ids.clear();
      })();
      return shutdown;
    },
  };
}

/** The names {@link RuntimeOptions} has. */
const RUNTIME_OPTION_NAMES: readonly string[] = ['inspect', 'clock', 'seed'] satisfies readonly (keyof RuntimeOptions)[];

/**
 * Refuses options the runtime could only fail on later, out of reach of any promise (a clock
 * without `setTimeout` throws inside the lifecycle's scheduler, and every call then hangs).
 */
function checkRuntimeOptions(options: unknown): asserts options is RuntimeOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptions('createRuntime() takes an options object');
  // A misspelt name (`clok`) was ignored: the runtime then ran on real time, unasked.
  for (const key of Object.keys(options)) {
    if (!RUNTIME_OPTION_NAMES.includes(key)) throw new InvalidOptions(`unknown option ${key} (known: ${RUNTIME_OPTION_NAMES.join(', ')})`);
  }
  const { clock, seed } = options as Record<string, unknown>;
  if (clock !== undefined) {
    const { setTimeout: set, clearTimeout: clear } = (typeof clock === 'object' && clock !== null ? clock : {}) as Record<string, unknown>;
    if (typeof set !== 'function' || typeof clear !== 'function') {
      throw new InvalidOptions("clock must have setTimeout(fn, ms) and clearTimeout(id) (xstate's SimulatedClock has both)");
    }
  }
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new InvalidOptions(`seed must be an integer, got ${typeof seed === 'number' ? seed : typeof seed}`);
}

/** Options already said to have no effect in a mode, in this process: once each is enough. */
const saidWithoutEffect = new Set<string>();

/**
 * Says, once per process and option, that an option given has no effect in the instance's
 * mode: `isolation.permission` on an embedded instance left its plugin the host's rights
 * without a word — an application moved from isolated to embedded by configuration lost
 * its protections silently.
 */
function warnWithoutEffect(mode: Mode, options: readonly string[]): void {
  const fresh = options.filter((option) => !saidWithoutEffect.has(`${mode}:${option}`));
  if (fresh.length === 0) return;
  for (const option of fresh) saidWithoutEffect.add(`${mode}:${option}`);
  const where = mode === 'inline' ? 'on the host\'s thread' : 'in the host\'s process';
  process.emitWarning(`${fresh.join(', ')} ${fresh.length === 1 ? 'has' : 'have'} no effect in ${mode} mode: the plugin runs ${where}, with its memory, environment and rights`, {
    code: 'PLUGIN_SEAM_OPTION_WITHOUT_EFFECT',
  });
}
