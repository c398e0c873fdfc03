// Model-based lifecycle property: random sequences of start / run / pause / send / frames /
// input failures / hung inputs / clock ticks / stop against the real runtime, checking after every
// command that transitions are legal, each failed generation is classified once, no stale
// output is delivered, the ledger balances, restarts respect the intensity, and in the end
// every pending call settles.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { SimulatedClock } from 'xstate';
import { createRuntime } from 'plugin-seam';
import type { Failure, LifecycleState, PluginInstance, Runtime } from 'plugin-seam';
import { MODES, fixture, frame } from '../conformance/harness.js';

const LEGAL: Record<LifecycleState, readonly LifecycleState[]> = {
  loaded: ['starting', 'stopped'],
  starting: ['started', 'running', 'failed', 'stopping'],
  started: ['running', 'stopping', 'failed'],
  running: ['started', 'stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: ['starting'],
  failed: ['starting', 'stopped'],
};

const INTENSITY = { maxRestarts: 3, withinMs: 5_000 };

interface Real {
  readonly runtime: Runtime;
  readonly clock: SimulatedClock;
  readonly p: PluginInstance;
  now: number;
  readonly pending: Promise<unknown>[];
  readonly violations: string[];
  readonly restartTimes: number[];
}

type Model = Record<string, never>;

const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

function checkInvariants(r: Real): void {
  const c = r.p.status.counters;
  if (c.accepted !== c.done + c.failed + c.dropped + c.lost + c.queued + c.inFlight) {
    r.violations.push(`ledger unbalanced: ${JSON.stringify(c)}`);
  }
  for (let i = 0; i < r.restartTimes.length; i++) {
    const t = r.restartTimes[i] ?? 0;
    const inWindow = r.restartTimes.filter((u) => u >= t && u < t + INTENSITY.withinMs).length;
    if (inWindow > INTENSITY.maxRestarts) r.violations.push(`${inWindow} restarts within ${INTENSITY.withinMs} ms`);
  }
  expect(r.violations).toEqual([]);
}

class Start implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_m: Model, r: Real) {
    r.pending.push(r.p.start().catch(() => undefined));
    await settle();
    checkInvariants(r);
  }
  toString = () => 'start';
}

class Run implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_m: Model, r: Real) {
    r.pending.push(r.p.run().catch(() => undefined));
    await settle();
    checkInvariants(r);
  }
  toString = () => 'run';
}

class Pause implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_m: Model, r: Real) {
    r.pending.push(r.p.pause().catch(() => undefined));
    await settle();
    checkInvariants(r);
  }
  toString = () => 'pause';
}

class Stop implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_m: Model, r: Real) {
    r.pending.push(r.p.stop().catch(() => undefined));
    await settle();
    checkInvariants(r);
  }
  toString = () => 'stop';
}

class Send implements fc.AsyncCommand<Model, Real> {
  constructor(readonly op: 'echo' | 'throw' | 'emit' | 'hang') {}
  check = () => true;
  async run(_m: Model, r: Real) {
    const message = this.op === 'emit' ? { op: 'emit', channel: 'x', values: [1, 2] } : { op: this.op, value: 1 };
    r.pending.push(r.p.send(message).catch(() => undefined));
    await settle();
    checkInvariants(r);
  }
  toString = () => `send(${this.op})`;
}

class Frames implements fc.AsyncCommand<Model, Real> {
  constructor(readonly count: number, readonly poison: boolean) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    const frames = Array.from({ length: this.count }, (_, i) => frame({ format: this.poison && i === 0 ? 'poison' : 'gray' }));
    r.pending.push(lastValueFrom(r.p.connect(from(frames)).pipe(toArray())));
    await settle();
    checkInvariants(r);
  }
  toString = () => `frames(${this.count}${this.poison ? ', poison' : ''})`;
}

class Tick implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    r.now += this.ms;
    r.clock.increment(this.ms);
    await settle();
    checkInvariants(r);
  }
  toString = () => `tick(${this.ms})`;
}

const commands: fc.Arbitrary<fc.AsyncCommand<Model, Real>>[] = [
  fc.constant(new Start()),
  fc.constant(new Run()),
  fc.constant(new Pause()),
  fc.constant(new Stop()),
  fc.constantFrom('echo' as const, 'throw' as const, 'emit' as const, 'hang' as const).map((op) => new Send(op)),
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.boolean()).map(([n, poison]) => new Frames(n, poison)),
  fc.integer({ min: 0, max: 3_000 }).map((ms) => new Tick(ms)),
];

describe.each(MODES)('lifecycle model [%s]', (mode) => {
  it('keeps every invariant under random command sequences', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
        runs += 1;
        const clock = new SimulatedClock();
        const runtime = createRuntime({ clock, seed: runs });
        const p = runtime.load({
          id: `model-${runs}`,
          module: fixture('behaviour'),
          mode,
          frames: { queue: 3, overflow: 'drop-oldest' },
          restart: { onInputError: 'restart', intensity: INTENSITY, backoff: { initialMs: 200, maxMs: 1_000, jitter: 0.3 } },
          timeouts: { input: 1_500, stop: 2_000 },
        });
        const real: Real = { runtime, clock, p, now: 0, pending: [], violations: [], restartTimes: [] };
        let last: LifecycleState = 'loaded';
        let restarts = 0;
        const failures = new Map<number, Failure>();
        p.status$.subscribe((s) => {
          if (s.state !== last) {
            if (!LEGAL[last].includes(s.state)) real.violations.push(`illegal transition ${last} → ${s.state}`);
            last = s.state;
          }
          if (s.failure !== undefined) {
            const seen = failures.get(s.failure.generation);
            if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(s.failure)) {
              real.violations.push(`generation ${s.failure.generation} classified twice`);
            }
            failures.set(s.failure.generation, s.failure);
          }
          for (; restarts < s.restarts; restarts++) real.restartTimes.push(real.now);
        });
        p.outputs$.subscribe((o) => {
          if (o.generation !== p.status.generation) real.violations.push(`output of generation ${o.generation} during ${p.status.generation}`);
        });
        await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
        // Finally: stop (advancing time past any deadline) and every call must settle.
        const stopped = p.stop().catch(() => undefined);
        for (let i = 0; i < 20 && p.status.state !== 'stopped' && p.status.state !== 'failed'; i++) {
          clock.increment(10_000);
          await settle();
        }
        await stopped;
        const all = Promise.allSettled(real.pending);
        const outcome = await Promise.race([all.then(() => 'settled'), new Promise((resolve) => setTimeout(resolve, 2_000, 'pending'))]);
        expect(outcome).toBe('settled');
        expect(p.status.counters).toMatchObject({ inFlight: 0, queued: 0 });
        checkInvariants(real);
        await runtime.shutdown();
      }),
      { numRuns: Number(process.env.SEAM_PROPERTY_RUNS ?? 60) },
    );
  }, 120_000);
});
