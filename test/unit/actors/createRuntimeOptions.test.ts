// createRuntime() refuses what it could only fail on later, out of reach of any promise.
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime } from '../../../src/actors/createRuntime.js';
import type { RuntimeOptions } from '../../../src/actors/createRuntime.js';
import { InvalidOptions } from '../../../src/errors.js';

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
