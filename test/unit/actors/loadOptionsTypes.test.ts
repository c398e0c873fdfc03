// What `load()` refuses at run time, its types refuse at compile time: this file is
// type-checked (`npm run typecheck`), and each `@ts-expect-error` fails that check if the
// line below it stops being an error. The run-time half asserts the refusal the type stands for.
import { describe, expect, it } from 'vitest';
import { InvalidOptions, createRuntime } from 'plugin-seam';
import type { LoadOptions, Mode } from 'plugin-seam';
import { definePlugin } from 'plugin-seam/plugin';

const echo = new URL('../../fixtures/plugins/check-good-echo.mjs', import.meta.url);

const detector = definePlugin<{ threshold: number }>({
  name: 'typed-config',
  onMessage(message, ctx) {
    return ctx.config.threshold + Number(message);
  },
});
const untyped = definePlugin({
  name: 'untyped-config',
  onMessage(message) {
    return message;
  },
});

describe('load options types', () => {
  it('refuse a definition object outside inline mode, as load() does', async () => {
    const runtime = createRuntime();
    try {
      // @ts-expect-error a definition cannot cross a thread
      expect(() => runtime.load({ id: 'd-embedded', module: untyped, mode: 'embedded' })).toThrow(InvalidOptions);
      // @ts-expect-error nor a process
      expect(() => runtime.load({ id: 'd-isolated', module: untyped, mode: 'isolated' })).toThrow(InvalidOptions);
      const someMode = 'isolated' as Mode;
      // @ts-expect-error a mode only known at run time may be one that refuses it
      expect(() => runtime.load({ id: 'd-some', module: untyped, mode: someMode })).toThrow(/cannot cross a thread or a process/);
      // A path or URL goes with any mode; a definition with inline or no mode.
      const byPath: LoadOptions = { id: 'p', module: echo, mode: someMode };
      const inline: LoadOptions = { id: 'i', module: untyped, mode: 'inline' };
      const byDefault: LoadOptions = { id: 'n', module: untyped };
      expect([byPath.mode, inline.mode, byDefault.mode]).toEqual(['isolated', 'inline', undefined]);
    } finally {
      await runtime.shutdown();
    }
  });

  it('require the config a definition types, and check its shape', async () => {
    const runtime = createRuntime();
    try {
      // @ts-expect-error ctx.config would be undefined
      const unconfigured = runtime.load({ id: 'no-config', module: detector });
      // @ts-expect-error the wrong shape
      runtime.load({ id: 'bad-config', module: detector, config: { threshold: 'high' } });
      const configured = runtime.load({ id: 'configured', module: detector, config: { threshold: 40 } });
      await configured.start();
      await configured.run();
      expect(await configured.send(2)).toBe(42);
      // What the type refused: the plugin reads a config that is not there.
      await unconfigured.start();
      await unconfigured.run();
      await expect(unconfigured.send(2)).rejects.toThrow(/threshold/);
      // A path carries no type: config stays optional and open.
      runtime.load({ id: 'path-no-config', module: echo, mode: 'embedded' });
      runtime.load({ id: 'path-config', module: echo, mode: 'embedded', config: { anything: [1, 2] } });
      // An untyped definition (config unknown) needs none.
      runtime.load({ id: 'untyped', module: untyped });
    } finally {
      await runtime.shutdown();
    }
  });
});
