import { createRuntime } from '../../actors/createRuntime.js';
import type { PluginInstance } from '../../actors/PluginInstance.js';
import type { LoadOptions } from '../../actors/LoadOptions.js';
import type { TransportKind } from '../../adapters/Adapter.js';
import { messageOf } from '../../errors.js';
import type { Mode } from '../../machines/lifecycleTypes.js';
import type { BenchInput, BenchReport, ModeFailed, ModeResult } from './BenchReport.js';
import { createInputDriver, type InputDriver } from './createInputDriver.js';
import { benchRule, compareModes, recommendMode } from './recommendMode.js';
import type { BenchTarget } from './resolveBenchTarget.js';
import { median, timePipelined, timeRoundTrips, type PipelineSlice, type RoundTripSlice } from './timeInputs.js';

/** What to measure. */
export interface BenchPlan {
  readonly target: BenchTarget;
  readonly modes: readonly Mode[];
  readonly input: BenchInput;
  /** Handed to the plugin as `ctx.config`. */
  readonly config: unknown;
  /** Timed seconds per mode and measure, spread over the rounds. */
  readonly durationS: number;
  readonly rounds: number;
  /** Inputs kept outstanding for the throughput measure. */
  readonly inFlight: number;
  /**
   * Seconds one input may take before its mode is reported as failed (`timeouts.input`;
   * default 30): a plugin that holds an input longer has hung, or is slower than this
   * measure is meant for.
   */
  readonly inputTimeoutS?: number;
  /** Progress lines (not part of the report). */
  readonly progress?: (line: string) => void;
}

/**
 * Frame memory the pipelined measure may hold per mode (a 4K RGBA frame is 33 MB): a few
 * frames in flight keep the plugin busy; more only cost memory, three times over.
 */
const FRAME_BUDGET_BYTES = 64 * 1024 * 1024;
/** Default of BenchPlan.inputTimeoutS. */
const INPUT_TIMEOUT_S = 30;

interface Lane {
  readonly mode: Mode;
  readonly instance: PluginInstance;
  readonly driver: InputDriver;
  readonly transport: TransportKind;
  readonly startMs: number;
  readonly roundTrips: RoundTripSlice[];
  readonly pipelines: PipelineSlice[];
}

/**
 * Measures one plugin in each requested mode on this machine. Every mode runs the same
 * input through the public API, with restarts off (a failure is reported, not retried).
 * All instances stay up for the whole run and the timed rounds interleave the modes (in a
 * rotating order), so a noisy neighbour slows every mode alike; each figure is the median
 * over the rounds. Before the rounds, each mode warms up (JIT, pools, caches) untimed. A
 * mode that fails is reported with its error and the others continue.
 *
 * @example
 * ```ts
 * const report = await runBench({ target, modes: ['inline', 'isolated'], input: { kind: 'message', message: {} },
 *   config: undefined, durationS: 2, rounds: 5, inFlight: 64 });
 * console.log(report.recommendation.advice);
 * ```
 */
export async function runBench(plan: BenchPlan): Promise<BenchReport> {
  const inFlight =
    plan.input.kind === 'frame' ? Math.min(plan.inFlight, Math.max(2, Math.floor(FRAME_BUDGET_BYTES / plan.input.byteLength))) : plan.inFlight;
  const sliceMs = (plan.durationS * 1_000) / plan.rounds;
  const warmMs = Math.min(500, Math.max(50, sliceMs));
  const failures = new Map<Mode, ModeFailed>();
  const lanes: Lane[] = [];
  const runtime = createRuntime();
  const fail = (lane: { mode: Mode; driver?: InputDriver }, stage: 'start' | 'warm-up' | 'measure', error: unknown): void => {
    lane.driver?.close();
    failures.set(lane.mode, { mode: lane.mode, ok: false, stage, error: messageOf(error) });
    plan.progress?.(`${lane.mode}: failed (${stage}): ${messageOf(error)}`);
  };
  try {
    for (const mode of plan.modes) {
      try {
        const instance = runtime.load(loadOptions(plan, mode, inFlight));
        const t0 = performance.now();
        await instance.start();
        await instance.run();
        const startMs = performance.now() - t0;
        lanes.push({ mode, instance, driver: createInputDriver(instance, plan.input), transport: instance.status.transport, startMs, roundTrips: [], pipelines: [] });
      } catch (error) {
        fail({ mode }, 'start', error);
      }
    }
    for (const lane of [...lanes]) {
      try {
        await timePipelined(lane.driver.op, inFlight, warmMs);
        await timeRoundTrips(lane.driver.op, warmMs);
      } catch (error) {
        fail(lane, 'warm-up', error);
        lanes.splice(lanes.indexOf(lane), 1);
      }
    }
    for (let round = 0; round < plan.rounds && lanes.length > 0; round++) {
      plan.progress?.(`round ${round + 1}/${plan.rounds}`);
      // Rotate the order each round: no mode always runs first (or right after another).
      const order = lanes.map((_, i) => lanes[(i + round) % lanes.length]).filter((l): l is Lane => l !== undefined);
      for (const lane of order) {
        try {
          lane.roundTrips.push(await timeRoundTrips(lane.driver.op, sliceMs));
          lane.pipelines.push(await timePipelined(lane.driver.op, inFlight, sliceMs));
        } catch (error) {
          fail(lane, 'measure', error);
          lanes.splice(lanes.indexOf(lane), 1);
        }
      }
    }
    for (const lane of lanes) lane.driver.close();
  } finally {
    await runtime.shutdown();
  }

  const results: ModeResult[] = plan.modes.map((mode): ModeResult => {
    const failure = failures.get(mode);
    if (failure !== undefined) return failure;
    const lane = lanes.find((l) => l.mode === mode);
    if (lane === undefined) return { mode, ok: false, stage: 'start', error: 'not measured' };
    return {
      mode,
      ok: true,
      transport: lane.transport,
      startMs: lane.startMs,
      roundTrip: {
        p50Ms: median(lane.roundTrips.map((s) => s.p50Ms)),
        p99Ms: median(lane.roundTrips.map((s) => s.p99Ms)),
        meanMs: median(lane.roundTrips.map((s) => s.meanMs)),
        samples: lane.roundTrips.reduce((sum, s) => sum + s.samples, 0),
      },
      throughput: {
        perSecond: median(lane.pipelines.map((s) => s.perSecond)),
        inFlight,
        inputs: lane.pipelines.reduce((sum, s) => sum + s.inputs, 0),
      },
    };
  });
  const { baseline, comparisons } = compareModes(results);
  return {
    plugin: { name: plan.target.name, module: plan.target.specifier },
    input: plan.input,
    durationS: plan.durationS,
    rounds: plan.rounds,
    inFlight,
    results,
    baseline,
    comparisons,
    recommendation: recommendMode(comparisons, baseline, results),
    rule: benchRule(plan.rounds),
  };
}

function loadOptions(plan: BenchPlan, mode: Mode, inFlight: number): LoadOptions {
  const { input } = plan;
  return {
    id: `bench-${mode}`,
    module: plan.target.url,
    mode,
    config: plan.config,
    restart: { policy: 'never' },
    timeouts: { input: Math.round((plan.inputTimeoutS ?? INPUT_TIMEOUT_S) * 1_000) },
    messages: { queue: Math.max(1_024, inFlight * 2) },
    // Every frame in flight has a slot: the measure is the plugin and the transport, not a wait for a slot.
    ...(input.kind === 'frame' ? { frames: { queue: inFlight, overflow: 'block', slots: inFlight + 2, maxFrameBytes: input.byteLength } } : {}),
  };
}
