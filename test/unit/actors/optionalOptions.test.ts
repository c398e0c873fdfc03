// Options typed for `exactOptionalPropertyTypes` users: every optional option takes an
// explicit `undefined` (a value passed through from a CLI flag or a config file that may be
// missing), in the types — this file is type-checked with that flag on — and at run time.
import { describe, expect, it } from 'vitest';
import { createRuntime } from 'plugin-seam';
import type { LoadOptions, Mode, RuntimeOptions } from 'plugin-seam';
import { checkPlugin } from 'plugin-seam/testing';
import type { CheckOptions } from 'plugin-seam/testing';

const echo = new URL('../../fixtures/plugins/check-good-echo.mjs', import.meta.url);

/** What a flag or a config file left out. */
function maybe<T>(value: T, present: boolean): T | undefined {
  return present ? value : undefined;
}

describe('optional options given as undefined', () => {
  it('are accepted by the types and read as not given', async () => {
    const runtimeOptions: RuntimeOptions = { inspect: maybe(() => undefined, false), clock: undefined, seed: maybe(1, false) };
    const runtime = createRuntime(runtimeOptions);
    const mode: Mode | undefined = maybe<Mode>('embedded', false);
    const options: LoadOptions = {
      id: 'undefined-options',
      module: echo,
      mode,
      config: undefined,
      frames: { queue: undefined, overflow: undefined, slots: undefined, maxFrameBytes: undefined, poisonReleased: undefined, maxQueuedBytes: undefined },
      messages: { queue: undefined },
      restart: { policy: undefined, intensity: { maxRestarts: undefined }, startup: undefined, backoff: { initialMs: undefined, jitter: undefined }, resetAfterMs: undefined, onInputError: undefined },
      timeouts: { start: undefined, stop: undefined, heartbeat: undefined, input: undefined },
      limits: { maxHeapMb: undefined, maxArrayBufferMb: undefined },
      isolation: { env: undefined, inheritEnv: undefined, permission: undefined, floodMs: undefined },
    };
    try {
      const p = runtime.load(options);
      expect(p.mode).toBe('inline');
      await p.start();
      await p.run();
      expect(await p.send('hello')).toMatchObject({ echo: 'hello' });
    } finally {
      await runtime.shutdown();
    }
    const check: CheckOptions = { modes: ['inline'], config: undefined, inputs: undefined, timeouts: { start: undefined }, normalize: undefined, isolation: undefined, limits: undefined };
    expect((await checkPlugin(echo, check)).passed).toBe(true);
  });
});
