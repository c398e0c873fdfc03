// The inline session's event-loop turn (EVENT_LOOP_TURN_MS): an input handed over after a
// long synchronous stretch waits for the next turn, yet keeps its place before the plugin's
// stop, and a fence gives it back unstarted; the budget is the thread's, shared by every inline
// instance. Driven directly, with a definition object.
import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_TURN_MS } from '../../../src/adapters/Adapter.js';
import type { Delivery, DeliveryResult, GenerationSession, LaunchRequest } from '../../../src/adapters/Adapter.js';
import { InlineAdapter } from '../../../src/adapters/inline/InlineAdapter.js';
import type { PluginDefinition } from '../../../src/plugin/types.js';

function launch(events: string[]): GenerationSession {
  const adapter = new InlineAdapter();
  const definition: PluginDefinition = {
    name: 'inline-turn',
    onFrame(frame) {
      events.push(`frame ${frame.seq}`);
    },
    stop() {
      events.push('stop');
    },
  };
  const noop = (): void => undefined;
  const request: LaunchRequest = {
    instanceId: 'inline-turn',
    generation: 1,
    module: { definition },
    config: undefined,
    sink: { output: noop, log: noop, heartbeat: noop, stale: noop, lost: noop, lingering: noop, ended: noop },
    pool: adapter.createFramePool({ slots: 4, slotBytes: 16, poisonReleased: false }),
    heartbeatMs: 0,
    inputBudgetMs: undefined,
    limits: { maxHeapMb: undefined, maxArrayBufferMb: undefined },
    haltOnInputError: false,
    poisonReleased: false,
    isolation: { env: {}, permission: undefined, floodMs: 10_000 },
  };
  return adapter.launch(request);
}

const frameInput = (seq: number): Delivery => ({
  kind: 'frame',
  seq,
  meta: { width: 4, height: 1, format: 'gray', timestamp: 0 },
  data: new Uint8Array(4),
});

/** Keeps this thread busy past the turn budget, so the next input must wait for a turn. */
function busyPastTurn(): void {
  const until = performance.now() + EVENT_LOOP_TURN_MS + 1;
  while (performance.now() < until) {
    // spin: the point is a synchronous stretch with no turn of the event loop
  }
}

describe('inline session: the event-loop turn', () => {
  it('runs an input that waits for the turn before the plugin stop() called after it', async () => {
    const events: string[] = [];
    const session = launch(events);
    await session.start();
    const settled: [number, DeliveryResult][] = [];
    const settle = (seq: number, result: DeliveryResult): void => {
      settled.push([seq, result]);
    };
    session.deliver(frameInput(1), settle);
    busyPastTurn();
    session.deliver(frameInput(2), settle);
    await session.stop();
    expect(events).toEqual(['frame 1', 'frame 2', 'stop']);
    expect(settled.map(([seq, result]) => [seq, result.ok])).toEqual([
      [1, true],
      [2, true],
    ]);
    session.dispose();
  });

  it('gives an input still waiting for the turn back to the fence, and never runs it', async () => {
    const events: string[] = [];
    const session = launch(events);
    await session.start();
    const settled: number[] = [];
    session.deliver(frameInput(1), (seq) => settled.push(seq));
    busyPastTurn();
    session.deliver(frameInput(2), (seq) => settled.push(seq));
    expect(session.fence?.().unstarted).toEqual([2]);
    session.dispose();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['frame 1']);
    expect(settled).toEqual([1]);
  });

  it('counts the budget for every inline instance together: the thread is one', async () => {
    const eventsA: string[] = [];
    const eventsB: string[] = [];
    const a = launch(eventsA);
    const b = launch(eventsB);
    await a.start();
    await b.start();
    const settle = (): void => undefined;
    a.deliver(frameInput(1), settle);
    busyPastTurn();
    // B has not run anything this turn, but the thread has been busy past the budget.
    b.deliver(frameInput(1), settle);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(eventsB).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(eventsB).toEqual(['frame 1']);
    // A new turn: the next input runs without waiting for another (microtasks only).
    b.deliver(frameInput(2), settle);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(eventsB).toEqual(['frame 1', 'frame 2']);
    expect(eventsA).toEqual(['frame 1']);
    a.dispose();
    b.dispose();
  });
});
