// createRuntime() refuses what it could only fail on later, out of reach of any promise.
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime } from '../../../src/actors/createRuntime.js';
import type { RuntimeOptions } from '../../../src/actors/createRuntime.js';
import { InvalidOptions } from '../../../src/errors.js';
import { optionsWithoutEffect } from '../../../src/actors/LoadOptions.js';

describe('createRuntime options', () => {
  it.each([
    [null, /createRuntime\(\) takes an options object/],
    [{ clock: {} }, /clock must have setTimeout\(fn, ms\) and clearTimeout\(id\)/],
    [{ clock: { setTimeout: () => 1 } }, /clock must have/],
    [{ inspect: 5 }, /inspect must be a function or an observer/],
    [{ seed: 1.5 }, /seed must be an integer/],
    // A misspelling was ignored, and the runtime ran on real time.
    [{ clok: new SimulatedClock() }, /unknown option clok \(known: inspect, clock, seed\)/],
  ])('refuses %o with InvalidOptions', (options, message) => {
    expect(() => createRuntime(options as RuntimeOptions)).toThrow(InvalidOptions);
    expect(() => createRuntime(options as RuntimeOptions)).toThrow(message);
  });

  it('takes a simulated clock, an inspect function or observer, and a seed', async () => {
    for (const options of [{ clock: new SimulatedClock() }, { inspect: () => undefined }, { inspect: { next: () => undefined } }, { seed: 7 }, {}]) {
      await createRuntime(options).shutdown();
    }
  });
});

describe('options a mode cannot apply', () => {
  it('lists isolation.* outside isolated mode and limits.* inline', () => {
    const options = { id: 'x', module: 'file:///p.js', isolation: { permission: true, env: { A: '1' }, floodMs: undefined }, limits: { maxHeapMb: 64 } } as const;
    expect(optionsWithoutEffect('isolated', options)).toEqual([]);
    expect(optionsWithoutEffect('embedded', options)).toEqual(['isolation.permission', 'isolation.env']);
    expect(optionsWithoutEffect('inline', options)).toEqual(['isolation.permission', 'isolation.env', 'limits.maxHeapMb']);
    expect(optionsWithoutEffect('inline', { id: 'y', module: 'file:///p.js' })).toEqual([]);
    // Values that ask for nothing lose nothing.
    expect(optionsWithoutEffect('embedded', { id: 'z', module: 'file:///p.js', isolation: { permission: false, env: {}, inheritEnv: [] } })).toEqual([]);
    // An empty permission object turns the permission model on, as true does.
    expect(optionsWithoutEffect('embedded', { id: 'z', module: 'file:///p.js', isolation: { permission: {} } })).toEqual(['isolation.permission']);
  });

  it('are loaded all the same, and said once per process and option in a warning', async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error): void => {
      if ((warning as { code?: string }).code === 'PLUGIN_SEAM_OPTION_WITHOUT_EFFECT') warnings.push(warning);
    };
    process.on('warning', listen);
    const runtime = createRuntime();
    try {
      const module = new URL('../../fixtures/plugins/behaviour.mjs', import.meta.url);
      const isolation = { permission: { allowFsRead: ['/tmp'] } };
      runtime.load({ id: 'moved-1', module, mode: 'embedded', isolation });
      runtime.load({ id: 'moved-2', module, mode: 'embedded', isolation });
      runtime.load({ id: 'kept', module, mode: 'isolated', isolation });
      // Emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.message)).toEqual([
        "isolation.permission has no effect in embedded mode: the plugin runs in the host's process, with its memory, environment and rights",
      ]);
    } finally {
      process.off('warning', listen);
      await runtime.shutdown();
    }
  });
});

describe('load() refusals', () => {
  it('refuses no options, or null, with InvalidOptions (a TypeError before)', async () => {
    const runtime = createRuntime();
    try {
      for (const options of [undefined, null]) {
        expect(() => runtime.load(options as unknown as Parameters<typeof runtime.load>[0])).toThrow(InvalidOptions);
        expect(() => runtime.load(options as unknown as Parameters<typeof runtime.load>[0])).toThrow(/^load\(\) needs an options object$/);
      }
    } finally {
      await runtime.shutdown();
    }
  });

  it('names the instance in a refusal of its options once its id is known', async () => {
    const runtime = createRuntime();
    try {
      const module = new URL('../../fixtures/plugins/behaviour.mjs', import.meta.url);
      for (const options of [{ frames: { queue: 0 } }, { franes: {} }]) {
        let refusal: unknown;
        try {
          runtime.load({ id: 'cam', module, ...options });
        } catch (error) {
          refusal = error;
        }
        expect(refusal).toBeInstanceOf(InvalidOptions);
        expect(refusal).toMatchObject({ instanceId: 'cam', message: expect.stringMatching(/ \(instance "cam"\)$/) as unknown });
      }
    } finally {
      await runtime.shutdown();
    }
  });
});
