// A host that holds its own event loop (a synchronous stretch of the application) must not
// cost a plugin its generation: deadlines count the time the plugin had to answer. Before, an
// isolated plugin started while the application stalled past the start deadline failed
// (`startup`/`timeout`) although its hello had waited in the pipe all along: the deadline's
// timer ran before the loop read it (see realClock). Real time: this is about the host's loop.
// The stalls end just before the deadlines too: the time the loop was busy is given back, not
// only the lateness of the timer.
import { firstValueFrom } from 'rxjs';
import { filter } from 'rxjs/operators';
import { describe, expect, it } from 'vitest';
import { createRuntime } from 'plugin-seam';
import { MODES, fixture } from '../conformance/harness.js';

function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe.each(MODES)('%s: a stall of the host', (mode) => {
  it('past the start deadline does not fail the start', async () => {
    const runtime = createRuntime();
    try {
      const p = runtime.load({ id: 'stalled-start', module: fixture('behaviour'), mode, timeouts: { start: 1_000 }, restart: { policy: 'never' } });
      const started = p.start().then(
        () => 'started',
        (error: unknown) => error,
      );
      stall(980);
      expect(await started).toBe('started');
      await p.run();
      expect(await p.send({ op: 'echo', value: 1 })).toBe(1);
      expect(p.status).toMatchObject({ state: 'running', generation: 1 });
    } finally {
      await runtime.shutdown();
    }
  });

  it('past the heartbeat deadline does not lose a live plugin', async () => {
    const runtime = createRuntime();
    try {
      const p = runtime.load({ id: 'stalled-running', module: fixture('behaviour'), mode, timeouts: { heartbeat: 300 }, restart: { policy: 'never' } });
      await p.start();
      await p.run();
      stall(1_000);
      expect(await p.send({ op: 'echo', value: 2 })).toBe(2);
      expect(p.status).toMatchObject({ state: 'running', generation: 1 });
      expect(p.status.lastFailure).toBeUndefined();
    } finally {
      await runtime.shutdown();
    }
  });

  // A backoff is a period, not a deadline: it runs on wall time. It once ran on the deadlines'
  // clock, which gave the stall back: the restart came a stall late, and restart windows
  // stretched the same way, so a plugin crashing once per window was given up on a busy host.
  it('does not stretch the backoff before a restart', async () => {
    const runtime = createRuntime();
    try {
      const backoffMs = 600;
      const p = runtime.load({
        id: 'stalled-backoff',
        module: fixture('behaviour'),
        mode,
        restart: { policy: 'permanent', onInputError: 'restart', backoff: { initialMs: backoffMs, jitter: 0 } },
      });
      await p.start();
      await p.run();
      const failed = firstValueFrom(p.status$.pipe(filter((s) => s.state === 'failed' && s.restart?.scheduled === true)));
      const relaunched = firstValueFrom(p.status$.pipe(filter((s) => s.generation === 2)));
      await p.send({ op: 'throw', message: 'crash' }).catch(() => undefined);
      await failed;
      const from = performance.now();
      stall(backoffMs - 50);
      await relaunched;
      const waited = performance.now() - from;
      // On time: the backoff, plus a timer's lateness. Stretched, it was ~2 × the backoff.
      expect(waited).toBeGreaterThanOrEqual(backoffMs - 5);
      expect(waited).toBeLessThan(backoffMs + 350);
    } finally {
      await runtime.shutdown();
    }
  });
});
