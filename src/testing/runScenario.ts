import { createRuntime } from '../actors/createRuntime.js';
import type { LoadOptions } from '../actors/LoadOptions.js';
import { messageOf } from '../errors.js';
import type { Mode } from '../machines/lifecycleTypes.js';
import type { ResolvedCheckOptions } from './CheckOptions.js';
import { InstanceDriver } from './InstanceDriver.js';
import type { GenerationLog } from './InstanceDriver.js';
import { scrubScenarioTag } from './resolvePluginModule.js';
import { withDeadline } from './withDeadline.js';

/**
 * The runs a check makes in each mode:
 * - `baseline`: one instance, start → inputs → stop → start again (generation 2) → inputs → stop;
 * - `poisoned`: the same inputs with `frames.poisonReleased: true`, one generation;
 * - `pair`: two instances of the same module side by side, inputs interleaved, one generation.
 */
export type ScenarioKind = 'baseline' | 'poisoned' | 'pair';

/** What a run does, in a progress line (see CheckOptions.progress). */
export function describeScenario(kind: ScenarioKind, options: ResolvedCheckOptions): string {
  const inputs = `${options.inputs.length} input${options.inputs.length === 1 ? '' : 's'}`;
  const start = `start (deadline ${options.timeouts.start} ms)`;
  switch (kind) {
    case 'baseline':
      return `baseline run: ${start}, ${inputs}, stop, then a second generation`;
    case 'poisoned':
      return `poisoned run: ${start}, ${inputs} with released frames overwritten, stop`;
    case 'pair':
      return `pair run: two instances side by side, ${start}, ${inputs} each, stop`;
  }
}

/** What one scenario observed: per instance, per generation. */
export interface ScenarioRun {
  readonly kind: ScenarioKind;
  readonly mode: Mode;
  readonly instances: readonly { readonly label: string; readonly generations: readonly GenerationLog[] }[];
  /** Set when the scenario could not be set up at all (the options were refused). */
  readonly error?: string;
}

/**
 * Runs one scenario with a runtime of its own, and shuts that runtime down whatever
 * happened. The wait for that shutdown is bounded: past it the call returns while the
 * runtime's own teardown goes on escalating (terminate, SIGTERM, SIGKILL) on its deadlines,
 * so a worker or process may outlive the call by those deadlines, not for good.
 *
 * `module` is the URL each instance loads. In inline mode a module is evaluated once per
 * URL, so the caller gives each scenario its own URL (a query suffix): the two instances of
 * `pair` share theirs, exactly as two inline instances of one module do in an application.
 */
export async function runScenario(kind: ScenarioKind, mode: Mode, module: URL, options: ResolvedCheckOptions): Promise<ScenarioRun> {
  const runtime = createRuntime();
  const pluginName = moduleName(module);
  const drivers: { label: string; driver: InstanceDriver }[] = [];
  const frameBytes = options.inputs.map((i) => ('frame' in i ? i.frame.data.byteLength : 0));
  const load = (label: string): InstanceDriver => {
    const loadOptions: LoadOptions = {
      // Named after the plugin's module, as an application would name it: the runtime's
      // messages (`plugin "…" (generation 1) lost while running`) are the author's to read.
      id: label === '' ? pluginName : `${pluginName} ${label}`,
      module,
      mode,
      config: options.config,
      // Slots sized to the inputs: out of thread they are shared memory, 8 MiB each by default.
      frames: { maxFrameBytes: Math.max(4_096, ...frameBytes), poisonReleased: kind === 'poisoned' },
      // A check reports the first failure; it never hides one behind a restart.
      restart: { policy: 'never' },
      timeouts: { start: options.timeouts.start, stop: options.timeouts.stop, input: options.timeouts.input },
      // Each where it applies (elsewhere the runtime would say it has no effect).
      ...(options.isolation === undefined || mode !== 'isolated' ? {} : { isolation: options.isolation }),
      ...(options.limits === undefined || mode === 'inline' ? {} : { limits: options.limits }),
    };
    const driver = new InstanceDriver(runtime.load(loadOptions), options);
    drivers.push({ label, driver });
    return driver;
  };
  const count = options.inputs.length;
  try {
    if (kind === 'pair') {
      const a = load('A');
      const b = load('B');
      const [upA, upB] = await Promise.all([a.start(1), b.start(1)]);
      for (let i = 0; i < count; i++) {
        if (upA) await a.feed(i);
        if (upB) await b.feed(i);
      }
      for (const [up, d] of [[upA, a], [upB, b]] as const) {
        if (up) await d.settle();
        await d.stop();
      }
    } else {
      const single = load('');
      const generations = kind === 'baseline' ? 2 : 1;
      for (let generation = 1; generation <= generations; generation++) {
        if (!(await single.start(generation))) break;
        for (let i = 0; i < count; i++) await single.feed(i);
        await single.settle();
        await single.stop();
      }
    }
  } catch (error) {
    return { kind, mode, instances: [], error: scrubScenarioTag(messageOf(error)) };
  } finally {
    for (const { driver } of drivers) driver.dispose();
    // Bounded: every instance stops within its stop deadline; a check must return regardless.
    await withDeadline(runtime.shutdown(), (options.timeouts.stop + 2_000) * Math.max(1, drivers.length), 'runtime.shutdown()').catch(() => undefined);
  }
  return { kind, mode, instances: drivers.map(({ label, driver }) => ({ label, generations: driver.generations })) };
}

/** A module's file name without its extension (`check-exits` for `…/check-exits.mjs`), or `plugin`. */
function moduleName(module: URL): string {
  const file = decodeURIComponent(module.pathname.split('/').pop() ?? '');
  const name = file.replace(/\.[cm]?[jt]sx?$/, '');
  return name === '' ? 'plugin' : name;
}
