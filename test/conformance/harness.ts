// The conformance harness: every behaviour test is written once and runs in each mode of
// MODES. An adapter joins the suite by being added to MODES.
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime } from 'plugin-seam';
import type { FrameInput, LoadOptions, Mode, PluginInstance, PluginStatus, Runtime } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';

/** The modes the suite runs in. */
export const MODES: readonly Mode[] = ['inline', 'embedded', 'isolated'];

/** Absolute path of a fixture plugin module. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/plugins/${name}.mjs`, import.meta.url));
}

/**
 * Sends the fixture's `hang` message and resolves once the plugin is inside it (it emits
 * `hanging` first), with the settled-or-rejected reply as a promise (boxed: an async
 * function would otherwise wait for it).
 */
export async function sendHanging(p: PluginInstance): Promise<{ readonly reply: Promise<unknown> }> {
  const entered = firstValueFrom(
    p.outputs$.pipe(
      filter((o) => o.channel === 'hanging'),
      timeout({ first: 5_000 }),
    ),
  );
  const reply = p.send({ op: 'hang' }).catch((e: unknown) => e);
  await entered;
  return { reply };
}

/** A frame of `length` bytes, each `fill`, with the given metadata. */
export function frame(overrides: Partial<FrameInput> & { fill?: number; length?: number } = {}): FrameInput {
  const { fill = 1, length = 16, ...rest } = overrides;
  return { width: 4, height: 4, format: 'gray', timestamp: 0, data: new Uint8Array(length).fill(fill), ...rest };
}

export interface Harness {
  readonly mode: Mode;
  readonly runtime: Runtime;
  readonly clock: SimulatedClock;
  /** Loads the fixture (default `behaviour`) in this mode, with fast restarts unless overridden. */
  load(options?: HarnessLoadOptions): PluginInstance;
  /** Loads, starts and runs. */
  running(options?: HarnessLoadOptions): Promise<PluginInstance>;
  /** Waits for a scheduled restart, advances the clock by its delay, waits for the new generation to be up. */
  restart(p: PluginInstance): Promise<PluginStatus>;
}

/** One runtime per test, on a simulated clock; shut down after the test whatever happened. */
/** Load options of the suite: the mode is the suite's, the module a fixture's name. */
export type HarnessLoadOptions = Partial<Omit<LoadOptions, 'mode' | 'module'>> & { fixture?: string };

export function useHarness(mode: Mode): () => Harness {
  let current: Harness | undefined;
  let count = 0;
  afterEach(async () => {
    const h = current;
    current = undefined;
    if (h === undefined) return;
    let settled = false;
    const done = h.runtime.shutdown().finally(() => {
      settled = true;
    });
    // A plugin whose stop hangs keeps shutdown waiting for its stop deadline: advance the
    // simulated clock until every deadline has passed (bounded).
    for (let i = 0; i < 200 && !settled; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      h.clock.increment(10_000);
    }
    await done;
  });
  return () => {
    const clock = new SimulatedClock();
    const runtime = createRuntime({ clock, seed: 42 });
    const load = (options: HarnessLoadOptions = {}): PluginInstance => {
      const { fixture: name = 'behaviour', ...rest } = options;
      count += 1;
      return runtime.load({
        id: `p${count}`,
        module: fixture(name),
        mode,
        ...rest,
        restart: { backoff: { initialMs: 100, jitter: 0 }, ...rest.restart },
        // The suite drives time with a simulated clock; heartbeats are real. Liveness has
        // its own tests, so here the deadline is out of reach of any clock jump.
        timeouts: { heartbeat: 3_600_000, ...rest.timeouts },
      });
    };
    const h: Harness = {
      mode,
      runtime,
      clock,
      load,
      async running(options) {
        const p = load(options);
        await p.start();
        await p.run();
        return p;
      },
      async restart(p) {
        const before = p.status.generation;
        const failed = await waitForStatus(p, (s) => s.state === 'failed' && s.restart?.scheduled === true);
        clock.increment(failed.restart?.delayMs ?? 0);
        return waitForStatus(p, (s) => s.generation > before && (s.state === 'started' || s.state === 'running'));
      },
    };
    current = h;
    return h;
  };
}
