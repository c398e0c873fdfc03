// The nemesis run (Jepsen-style), on the real clock: four instances in mixed modes (inline,
// embedded, two isolated) under a steady client load of frames and messages, while a
// nemesis kills them (SIGKILL of isolated children, process.exit in a worker or a child),
// stops and continues them (SIGSTOP/SIGCONT shorter and longer than the heartbeat
// deadline), hangs them (an input that never settles, a synchronous spin) and floods them
// (log lines, outputs, stdout, message bursts beyond the queue), and plays the operator
// (restarting what is left failed, bouncing an instance now and then). Every submission
// and outcome, output, log, status change, ledger snapshot and fault goes into one history;
// at the end checkHistory judges it offline (its header lists the invariants) and a failure
// prints the violating part of the history.
//
// SEAM_NEMESIS_SECONDS sets the duration (default 8 s; `npm run test:nemesis` runs 60),
// SEAM_NEMESIS_SEED the fault schedule (printed on every run; timing stays real).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createRuntime } from 'plugin-seam';
import type { Mode, OverflowPolicy } from 'plugin-seam';
import { fixture } from '../conformance/harness.js';
import { KNOWN_BUGS } from '../property/knownBugs.js';
import { monitorLoopStall } from '../fixtures/loopStall.js';
import { hasEnded, signalOwnChild } from '../property/ownChild.js';
import { until } from '../property/until.js';
import { ClientLoad } from './ClientLoad.js';
import { History } from './History.js';
import type { HistoryEvent } from './History.js';
import { Nemesis, seededRandom } from './Nemesis.js';
import type { NemesisTarget } from './Nemesis.js';
import { checkHistory, formatViolations } from './checkHistory.js';
import type { InstanceBudgets } from './checkHistory.js';
import { recordInstance } from './recordInstance.js';

const SECONDS = Number(process.env.SEAM_NEMESIS_SECONDS ?? 8);
const SEED = Number(process.env.SEAM_NEMESIS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const HEARTBEAT_MS = 300;
const INPUT_MS = 500;
const STOP_MS = 1_000;
const MESSAGE_QUEUE = 32;
const FRAME_QUEUE = 8;
const FRAME_SLOTS = FRAME_QUEUE + 4;
const BUDGETS: InstanceBudgets = { intensity: { maxRestarts: 6, withinMs: 3_000 }, startup: { maxRestarts: 3, withinMs: 3_000 } };
/** One fault every this many ms on average, across all instances. */
const FAULT_INTERVAL_MS = 120;
/** Client load: a frame per instance every tick, a message every other tick. */
const LOAD_TICK_MS = 5;

const INSTANCES: readonly { readonly id: string; readonly mode: Mode; readonly overflow: OverflowPolicy }[] = [
  { id: 'inline-1', mode: 'inline', overflow: 'drop-oldest' },
  { id: 'embedded-1', mode: 'embedded', overflow: 'drop-newest' },
  { id: 'isolated-1', mode: 'isolated', overflow: 'drop-oldest' },
  { id: 'isolated-2', mode: 'isolated', overflow: 'block' },
];

function tally(events: readonly HistoryEvent[]): { outcomes: Map<string, number>; failures: Map<string, number>; outputs: number } {
  const outcomes = new Map<string, number>();
  const failures = new Map<string, number>();
  let outputs = 0;
  for (const e of events) {
    if (e.kind === 'outcome') outcomes.set(e.outcome, (outcomes.get(e.outcome) ?? 0) + 1);
    if (e.kind === 'output') outputs += 1;
    if (e.kind === 'status' && e.state === 'failed' && e.failure !== undefined) {
      const key = `${e.failure.class}/${e.failure.cause}`;
      failures.set(key, (failures.get(key) ?? 0) + 1);
    }
  }
  return { outcomes, failures, outputs };
}

const list = (m: ReadonlyMap<string, number>): string =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

describe('nemesis', () => {
  it(`keeps every invariant under ${SECONDS} s of faults and load in mixed modes`, async () => {
    const unexpected: unknown[] = [];
    const record = (error: unknown): void => {
      unexpected.push(error);
    };
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    const history = new History();
    const runtime = createRuntime({ seed: SEED });
    const targets = INSTANCES.map(({ id, mode, overflow }) => {
      const p = runtime.load({
        id,
        module: fixture('nemesis-plugin'),
        mode,
        config: { contained: mode !== 'inline', floodStdout: mode === 'isolated' },
        frames: { queue: FRAME_QUEUE, slots: FRAME_SLOTS, overflow },
        messages: { queue: MESSAGE_QUEUE },
        restart: { ...BUDGETS, backoff: { initialMs: 50, maxMs: 400, jitter: 0.2 } },
        timeouts: { start: 10_000, stop: STOP_MS, input: INPUT_MS, heartbeat: HEARTBEAT_MS },
      });
      const recording = recordInstance(p, history);
      const target: NemesisTarget & { readonly recording: typeof recording } = { p, mode, client: new ClientLoad(p, history, 4_096), pids: recording.pids, recording };
      return target;
    });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const nemesis = new Nemesis(targets, history, seededRandom(SEED), { heartbeatMs: HEARTBEAT_MS, inputMs: INPUT_MS, stopMs: STOP_MS, messageQueue: MESSAGE_QUEUE });
    let load: NodeJS.Timeout | undefined;
    let stalls: ReturnType<typeof monitorLoopStall> | undefined;
    const t0 = performance.now();
    try {
      await Promise.all(
        targets.map(async ({ p }) => {
          await p.start();
          await p.run();
        }),
      );
      delay.enable();
      stalls = monitorLoopStall();
      nemesis.start(FAULT_INTERVAL_MS);
      let tick = 0;
      load = setInterval(() => {
        tick += 1;
        for (const t of targets) {
          t.client.frame();
          if (tick % 2 === 0) t.client.message({ op: 'echo', value: tick });
        }
        if (tick % 20 === 0) nemesis.operate();
      }, LOAD_TICK_MS);
      // The run's length, not a synchronisation: faults and load go on meanwhile.
      await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
    } finally {
      clearInterval(load);
      await nemesis.stop();
    }
    const runMs = performance.now() - t0;
    const t1 = performance.now();
    // Stopped, every instance must give every frame slot back (a dead generation's slots
    // once its thread or process has ended: bounded wait). Out of thread, a known runtime
    // bug leaks them (knownBugs.ts): not recorded there until it is fixed.
    await Promise.all(
      targets.map(async ({ p, mode }) => {
        await p.stop().catch(() => undefined);
        if (mode !== 'inline' && KNOWN_BUGS.slotLeakOnSelfExit) return;
        const signal = AbortSignal.timeout(3_000);
        const slots = await Promise.allSettled(Array.from({ length: FRAME_SLOTS }, () => p.acquire(64, signal)));
        for (const slot of slots) if (slot.status === 'fulfilled') slot.value.release();
        const acquired = slots.filter((slot) => slot.status === 'fulfilled').length;
        history.record({ instance: p.id, generation: p.status.generation, kind: 'pool', acquired, slots: FRAME_SLOTS });
      }),
    );
    // Shutdown: every input settles, every plugin process ends.
    let shutdownTimer: NodeJS.Timeout | undefined;
    const shutDown = await Promise.race([
      runtime.shutdown().then(() => true),
      new Promise<false>((resolve) => {
        shutdownTimer = setTimeout(resolve, 20_000, false);
      }),
    ]);
    clearTimeout(shutdownTimer);
    const closed = await Promise.all(targets.map((t) => t.client.close(5_000)));
    const shutdownMs = performance.now() - t1;
    delay.disable();
    const stall = stalls?.stop() ?? { maxMs: Number.POSITIVE_INFINITY, wallMaxMs: Number.POSITIVE_INFINITY };
    const pidsOf = (t: NemesisTarget): number[] => [...t.pids.values()].filter((pid) => pid !== process.pid);
    const all = targets.flatMap(pidsOf);
    await until(() => all.every(hasEnded), 5_000, 10);
    for (const t of targets) {
      history.record({ instance: t.p.id, generation: t.p.status.generation, kind: 'end', counters: t.p.status.counters, survivors: pidsOf(t).filter((pid) => !hasEnded(pid)) });
      t.recording.subscription.unsubscribe();
    }
    // Whatever survived is ended here, so a failing run leaves nothing behind.
    for (const pid of all) signalOwnChild(pid, 'SIGKILL');
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);

    const events = history.events;
    // Restart windows run on real timers, which fire late when the host is busy: a second of
    // slack. A deadline fires as late as the host's event loop was delayed (sampled every 10 ms).
    const violations = checkHistory(events, {
      budgets: Object.fromEntries(INSTANCES.map(({ id }) => [id, BUDGETS])),
      slackMs: 1_000,
      deadlines: { heartbeatMs: HEARTBEAT_MS, stopMs: STOP_MS },
      lateMs: delay.max / 1e6 + 20,
    });
    const { outcomes, failures, outputs } = tally(events);
    const faults = [...nemesis.counts.values()].reduce((a, b) => a + b, 0);
    console.log(
      [
        `nemesis: ${(runMs / 1_000).toFixed(1)} s run + ${(shutdownMs / 1_000).toFixed(1)} s shutdown, seed ${SEED}, ${events.length} events`,
        `  faults injected: ${faults} (${list(nemesis.counts)})`,
        `  outcomes: ${list(outcomes)}; outputs ${outputs}`,
        `  failures: ${list(failures) || 'none'}`,
        `  per instance: ${targets.map((t) => `${t.p.id} g${t.p.status.generation} restarts ${t.p.status.restarts} submitted ${t.client.submitted}`).join('; ')}`,
        `  host event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms (${stall.maxMs.toFixed(1)} ms net of waiting for a CPU)`,
        `  plugin processes: ${all.length}, all ended: ${all.every(hasEnded)}`,
      ].join('\n'),
    );
    if (violations.length > 0) console.error(formatViolations(events, violations));
    expect(violations.map((v) => `[${v.rule}] ${v.instance}: ${v.message}`)).toEqual([]);
    expect(shutDown, 'runtime.shutdown() settled').toBe(true);
    expect(closed, 'every client call settled after shutdown').toEqual(targets.map(() => true));
    expect([...targets.flatMap((t) => t.client.unexpected), ...unexpected.map(String)]).toEqual([]);
    expect(faults).toBeGreaterThan(SECONDS * 3);
    // Net of the time the host waited for a CPU: a loaded machine is not the host stalling.
    expect(stall.maxMs, 'the host event loop stalled').toBeLessThan(2_000);
  }, (SECONDS + 60) * 1_000);
});
