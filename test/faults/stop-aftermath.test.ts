// RELIABILITY F5: a generation is stopped once its thread or process has ended, not merely
// once the plugin's stop() returned. An uncaught error in what the stop left queued (a
// microtask that throws) ends the isolated child with code 1, a teardown failure; an embedded
// worker was terminated over it and the stop reported clean. Both now end by themselves after
// the stop replied, and any end but a clean one fails the stop. (Inline, such an error is the
// host's own uncaught exception: not contained, documented.)
import { describe, expect, it } from 'vitest';
import { TeardownFailed } from 'plugin-seam';
import { useHarness } from '../conformance/harness.js';

describe.each(['embedded', 'isolated'] as const)('%s: what a stop leaves behind', (mode) => {
  const harness = useHarness(mode);

  it('an error thrown as stop() returns fails the stop (teardown/exit), with the error in its detail', async () => {
    const h = harness();
    const p = await h.running({ fixture: 'faults', config: { stop: 'throw-after' }, restart: { policy: 'never' } });
    const error = await p.stop().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TeardownFailed);
    expect(p.status.lastFailure).toMatchObject({ class: 'teardown', cause: 'exit', exitCode: 1, generation: 1 });
    // Embedded: after the reply, from the worker's error; isolated: often before the reply left
    // (a process ends at once), from its stderr.
    expect(p.status.lastFailure?.detail).toMatch(/Error: thrown as stop returned/);
  });

  it('a clean stop stays clean: the instance stops, nothing failed', async () => {
    const h = harness();
    const p = await h.running({ fixture: 'faults', restart: { policy: 'never' } });
    await p.stop();
    expect(p.status).toMatchObject({ state: 'stopped', generation: 1 });
    expect(p.status.lastFailure).toBeUndefined();
  });
});
