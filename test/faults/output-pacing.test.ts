// RELIABILITY C2, with an application that works on each output: out of thread, a plugin's
// outputs are applied within a share of each turn of the host's event loop (HostDataPlane.
// receive), however many arrive at once. A port or a pipe hands over everything it has in
// one go: 400 outputs at 5 ms each held the host's timers off ~1.3–2 s. Now the host's loop
// keeps turning (timers, another instance's answers), every output arrives in order, and
// the plugin waits on its credit (embedded) or its pipe (isolated). Inline, the plugin's
// emit runs on the host's thread: a synchronous flood blocks it (documented).
import { describe, expect, it } from 'vitest';
import { useHarness } from '../conformance/harness.js';
import { expectBalanced } from '../fixtures/faultKit.js';
import { monitorLoopStall } from '../fixtures/loopStall.js';

describe.each(['embedded', 'isolated'] as const)('%s: outputs taken slowly by the application', (mode) => {
  const harness = useHarness(mode);

  it('keeps the host loop turning while 400 outputs at 5 ms each are applied', async () => {
    const h = harness();
    const other = await h.running();
    const p = await h.running({ fixture: 'hostile-flood', restart: { policy: 'never' } });
    const COUNT = 400;
    let next = 0;
    let disordered = 0;
    p.outputs$.subscribe((o) => {
      if (o.channel !== 'flood') return;
      if ((o.value as { n: number }).n !== next) disordered += 1;
      next += 1;
      const until = performance.now() + 5;
      while (performance.now() < until);
    });
    const stalls = monitorLoopStall();
    const echoes: number[] = [];
    let finished = false;
    const flooding = p.send({ op: 'flood', count: COUNT, bytes: 0, batch: COUNT }).finally(() => {
      finished = true;
    });
    while (!finished) {
      expect(await other.send({ op: 'echo', value: echoes.length })).toBe(echoes.length);
      echoes.push(echoes.length);
    }
    expect(await flooding).toBe('flooded');
    const { maxMs } = stalls.stop();
    console.log(`${mode}: ${next} outputs at 5 ms; event loop: longest stall ${maxMs.toFixed(0)} ms net of waiting for a CPU; ${echoes.length} echoes`);
    expect(next).toBe(COUNT);
    expect(disordered).toBe(0);
    expect(maxMs).toBeLessThan(300);
    expect(echoes.length).toBeGreaterThanOrEqual(10);
    expectBalanced(p);
  });
});
