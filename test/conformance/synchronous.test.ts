// Synchronous callbacks conformance: a plugin whose onFrame and onMessage are plain functions.
// Out of thread the guest runs such a callback without a promise when it returns a primitive
// (PluginRunner.startNow), and lets the microtask queue turn once before it takes the outcome;
// inline mode awaits it on the runner's chain. Either way, what the callback queued as
// microtasks runs with its frame still valid, its outputs counted to its input and delivered
// before its outcome, and objects, thrown errors and promises come back as before.
import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { InputFailed } from 'plugin-seam';
import type { PluginOutput } from 'plugin-seam';
import { MODES, frame, useHarness } from './harness.js';

describe.each(MODES)('synchronous callbacks [%s]', (mode) => {
  const harness = useHarness(mode);

  it("runs a synchronous onFrame's microtasks with the frame valid, its outputs before its outcome", async () => {
    const p = await harness().running({ fixture: 'synchronous', frames: { queue: 64, slots: 72 } });
    const seen: string[] = [];
    const outputs: PluginOutput[] = [];
    p.outputs$.subscribe((o) => {
      outputs.push(o);
      seen.push(`output ${o.inputSeq ?? '?'}`);
    });
    const COUNT = 200;
    const outcomes = p.connect(from(Array.from({ length: COUNT }, (_, i) => frame({ fill: (i % 250) + 1, length: 8 }))));
    await new Promise<void>((resolve, reject) => {
      outcomes.subscribe({ next: (o) => seen.push(`outcome ${o.seq}`), error: reject, complete: resolve });
    });
    expect(outputs).toHaveLength(COUNT);
    outputs.forEach((o, i) => {
      expect(o.inputSeq).toBe(i + 1);
      expect(o.value).toEqual({ seq: i + 1, first: (i % 250) + 1, sameAsCall: true });
    });
    // Each frame's output comes before its own outcome.
    for (let seq = 1; seq <= COUNT; seq++) expect(seen.indexOf(`output ${seq}`)).toBeLessThan(seen.indexOf(`outcome ${seq}`));
  });

  it('fails a frame whose synchronous onFrame threw, and runs the next', async () => {
    const p = await harness().running({ fixture: 'synchronous' });
    const outcomes = await lastValueFrom(p.connect(from([frame({ timestamp: -1 }), frame({ fill: 7 })])).pipe(toArray()));
    expect(outcomes.map((o) => o.kind)).toEqual(['failed', 'done']);
    expect(outcomes[0]?.reason).toMatch(/RangeError: frame 1 refused/);
    expect(p.status.state).toBe('running');
  });

  it('answers synchronous replies of every kind, in order, pipelined', async () => {
    const p = await harness().running({ fixture: 'synchronous' });
    const microtaskOutputs: PluginOutput[] = [];
    p.outputs$.subscribe((o) => {
      if (o.channel === 'message-microtask') microtaskOutputs.push(o);
    });
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, n) => {
        switch (n % 5) {
          case 0:
            return p.send({ op: 'echo', value: `text ${n}` });
          case 1:
            return p.send({ op: 'microtask-emit', n });
          case 2:
            return p.send({ op: 'object', n });
          case 3:
            return p.send({ op: 'promise', n });
          default:
            return p.send({ op: 'throw', n }).catch((error: unknown) => error);
        }
      }),
    );
    replies.forEach((reply, n) => {
      if (n % 5 === 0) expect(reply).toBe(`text ${n}`);
      else if (n % 5 === 1 || n % 5 === 3) expect(reply).toBe(n);
      else if (n % 5 === 2) expect(reply).toEqual({ n });
      else {
        expect(reply).toBeInstanceOf(InputFailed);
        expect((reply as InputFailed).cause).toMatchObject({ name: 'TypeError', message: `message ${n} refused` });
      }
    });
    // Each microtask's output is counted to the message that queued it (seq n + 1: the
    // instance numbers inputs from 1), in order.
    expect(microtaskOutputs.map((o) => [o.value, o.inputSeq])).toEqual(Array.from({ length: 20 }, (_, k) => [5 * k + 1, 5 * k + 2]));
    expect(p.status.counters).toMatchObject({ done: 80, failed: 20 });
  });
});
