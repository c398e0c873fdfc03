import { runInNewContext } from 'node:vm';
// load() options: defaults, checks, and option names — a misspelt one is an error, not a
// default silently kept.
import { describe, expect, it } from 'vitest';
import { InvalidOptions } from '../../../src/errors.js';
import { resolveLoadOptions } from '../../../src/actors/LoadOptions.js';
import type { LoadOptions } from '../../../src/actors/LoadOptions.js';

const base = { id: 'p', module: '/plugins/p.mjs' };
const resolve = (options: Record<string, unknown>): unknown => resolveLoadOptions({ ...base, ...options }, 5_000);

describe('resolveLoadOptions', () => {
  it('accepts every option it documents, nested', () => {
    const all: LoadOptions = {
      ...base,
      mode: 'isolated',
      config: { anything: { goes: ['here'] }, frmes: 1 },
      frames: { queue: 2, overflow: 'drop-oldest', slots: 6, maxFrameBytes: 1024, poisonReleased: true, maxQueuedBytes: 4096 },
      messages: { queue: 8 },
      restart: {
        policy: 'transient',
        intensity: { maxRestarts: 1, withinMs: 1_000 },
        startup: { maxRestarts: 1, withinMs: 1_000 },
        backoff: { initialMs: 1, maxMs: 2, factor: 2, jitter: 0 },
        resetAfterMs: 10,
        onInputError: 'restart',
      },
      timeouts: { start: 1, stop: 1, heartbeat: 50, input: 1 },
      limits: { maxHeapMb: 64, maxArrayBufferMb: 64 },
      isolation: { env: { ANY_NAME: 'x' }, inheritEnv: ['PATH'], permission: { allowFsRead: ['/tmp'], allowFsWrite: [] }, floodMs: 0 },
    };
    expect(resolveLoadOptions(all, 5_000)).toMatchObject({ mode: 'isolated', frames: { queue: 2, overflow: 'drop-oldest' }, messageQueue: 8 });
    expect(resolve({ isolation: { permission: true } })).toMatchObject({ isolation: { permission: { allowFsRead: [], allowFsWrite: [] }, floodMs: 10_000 } });
    expect(resolveLoadOptions(all, 5_000)).toMatchObject({ isolation: { floodMs: 0 } });
  });

  it.each([
    [{ frmes: { queue: 2 } }, 'unknown option frmes (known: id, module, mode, config, frames, messages, restart, timeouts, limits, isolation)'],
    [{ frames: { overflw: 'drop-oldest' } }, 'unknown option frames.overflw (known in frames: queue, overflow, slots, maxFrameBytes, poisonReleased, maxQueuedBytes)'],
    [{ timeouts: { stpo: 1 } }, 'unknown option timeouts.stpo'],
    [{ restart: { backoff: { initial: 1 } } }, 'unknown option restart.backoff.initial'],
    [{ restart: { intensity: { max: 1 } } }, 'unknown option restart.intensity.max'],
    [{ isolation: { permission: { allowRead: [] } } }, 'unknown option isolation.permission.allowRead'],
    [{ messages: { size: 1 } }, 'unknown option messages.size'],
  ])('refuses a misspelt option name: %o', (options, message) => {
    expect(() => resolve(options)).toThrow(InvalidOptions);
    expect(() => resolve(options)).toThrow(message);
  });

  it('takes an option group only as an object of named fields (not a Map, a Date, an array), and null as a value', () => {
    // Taken for groups with no keys before: every default applied in silence.
    expect(() => resolve({ frames: new Map([['queue', 0]]) })).toThrow(/^frames must be an object of options \(.*\), got a Map$/);
    expect(() => resolve({ timeouts: new Date() })).toThrow(/^timeouts must be an object of options \(.*\), got a Date$/);
    expect(() => resolve({ frames: [] as unknown })).toThrow(/^frames must be an object of options \(.*\), got an array$/);
    expect(() => resolve({ frames: { poisonReleased: null as unknown as boolean } })).toThrow(/^frames\.poisonReleased must be a boolean, got null$/);
    // process.env, a literal of another realm (a vm context), one without a prototype or
    // made from defaults are objects of named fields.
    expect(resolve({ isolation: { env: process.env } })).toMatchObject({ isolation: { env: { PATH: process.env.PATH } } });
    expect(resolve({ frames: Object.create({ queue: 5 }) as { queue: number } })).toMatchObject({ frames: { queue: 5 } });
    const foreign = runInNewContext('({ queue: 3 })') as { queue: number };
    expect(resolve({ frames: foreign })).toMatchObject({ frames: { queue: 3 } });
    expect(resolve({ frames: Object.assign(Object.create(null) as { queue: number }, { queue: 2 }) })).toMatchObject({ frames: { queue: 2 } });
  });

  it('still checks values as before', () => {
    expect(() => resolve({ frames: { queue: 0 } })).toThrow(/frames\.queue must be a positive integer/);
    expect(() => resolve({ mode: 'remote' })).toThrow(/mode must be one of inline, embedded, isolated/);
    // Timers: Node fires a delay past 2^31 - 1 ms after 1 ms.
    for (const path of ['start', 'stop', 'heartbeat', 'input'] as const) {
      expect(() => resolve({ timeouts: { [path]: 2 ** 31 } })).toThrow(new RegExp(`timeouts\\.${path} must be an integer number of ms in \\d+\\.\\.2147483647`));
    }
    expect(() => resolve({ restart: { backoff: { maxMs: 2 ** 40 } } })).toThrow(/restart\.backoff\.maxMs/);
    expect(() => resolve({ restart: { resetAfterMs: 2 ** 31 } })).toThrow(/restart\.resetAfterMs/);
    // A ring entry holds a frame's length in 32 bits (once accepted here, then every start failed).
    expect(() => resolve({ frames: { maxFrameBytes: 2 ** 32 } })).toThrow(/frames\.maxFrameBytes must be an integer in 1\.\.4294967295, got 4294967296/);
    expect(resolve({ frames: { maxFrameBytes: 2 ** 32 - 1, slots: 1, queue: 1 } })).toMatchObject({ frames: { maxFrameBytes: 2 ** 32 - 1 } });
    // Checked in every mode: inline, which has no heartbeat, took anything.
    expect(() => resolveLoadOptions({ id: 'a', module: 'x.mjs', mode: 'inline', timeouts: { heartbeat: 'soon' as unknown as number } }, 0)).toThrow(/timeouts\.heartbeat must be/);
    expect(resolveLoadOptions({ id: 'a', module: 'x.mjs', mode: 'inline', timeouts: { heartbeat: 500 } }, 0)).toMatchObject({ timeouts: { heartbeat: 0 } });
    // null is a value, not "use the default".
    expect(() => resolve({ restart: { backoff: { factor: null as unknown as number } } })).toThrow(/restart\.backoff\.factor must be a finite number/);
    expect(() => resolve({ restart: { backoff: { jitter: null as unknown as number } } })).toThrow(/restart\.backoff\.jitter must be a number/);
    // A first delay above the cap was quietly capped.
    expect(() => resolve({ restart: { backoff: { initialMs: 5_000, maxMs: 100 } } })).toThrow(/restart\.backoff\.initialMs \(5000\) must be at most restart\.backoff\.maxMs \(100\)/);
    expect(resolve({ restart: { backoff: { maxMs: 50 } } })).toMatchObject({ supervision: { backoff: { initialMs: 100, maxMs: 50 } } });
    // A first delay alone above the default cap is honoured, not cut to the cap.
    expect(resolve({ restart: { backoff: { initialMs: 20_000 } } })).toMatchObject({ supervision: { backoff: { initialMs: 20_000, maxMs: 20_000 } } });
    expect(resolve({ restart: { backoff: { initialMs: 2_000 } } })).toMatchObject({ supervision: { backoff: { initialMs: 2_000, maxMs: 10_000 } } });
    // Too long for a timer with its jitter: the error names the option that was set.
    expect(() => resolve({ restart: { backoff: { initialMs: 2_000_000_000 } } })).toThrow(/^restart\.backoff\.initialMs \(the cap when maxMs is left out\) × \(1 \+ jitter\)/);
    // A window shorter than a restart counts none: no backoff and a 1 ms window restarted for ever.
    expect(() => resolve({ restart: { startup: { maxRestarts: 1, withinMs: 1 } } })).toThrow(/restart\.startup\.withinMs must be an integer number of ms in 1000\.\./);
    expect(() => resolve({ restart: { intensity: { maxRestarts: 1, withinMs: 999 } } })).toThrow(/restart\.intensity\.withinMs/);
    // Node cannot start with less (it failed every start as startup/signal).
    expect(() => resolve({ limits: { maxHeapMb: 1 } })).toThrow(/limits\.maxHeapMb must be an integer in 8\.\.2147483647, got 1/);
    // The heartbeat is sampled every 10 ms at best: a shorter deadline could never be met.
    expect(() => resolve({ timeouts: { heartbeat: 20 } })).toThrow(/timeouts\.heartbeat must be an integer number of ms in 50\.\./);
    // A group that is not an object is an error, not ignored.
    for (const [options, message] of [
      [{ restart: 'never' }, /restart must be an object of options/],
      [{ timeouts: 1_000 }, /timeouts must be an object of options/],
      [{ frames: 'x' }, /frames must be an object of options/],
      [{ isolation: 'strict' }, /isolation must be an object of options/],
      [{ isolation: { permission: 'yes' } }, /isolation\.permission must be an object of options/],
      [{ frames: { poisonReleased: 'yes' } }, /frames\.poisonReleased must be a boolean/],
      [{ restart: { backoff: { jitter: '0.5' } } }, /jitter must be a number between 0 and 1/],
      // The longest wait, jitter included, must fit a timer (Node fires a longer one at once).
      [{ restart: { backoff: { maxMs: 2 ** 31 - 1, jitter: 0.2 } } }, /restart\.backoff\.maxMs × \(1 \+ jitter\) must be at most 2147483647 ms/],
      [{ isolation: { env: ['FOO=bar'] } }, /isolation\.env must be an object/],
      [{ isolation: { env: { 'A=B': 'x' } } }, /"A=B" is not a variable name/],
      [{ isolation: { env: { '': 'x' } } }, /"" is not a variable name/],
      [{ isolation: { env: { A: 'x\0y' } } }, /isolation\.env\.A must be a string without NUL/],
    ] as const) {
      expect(() => resolve(options as Record<string, unknown>)).toThrow(message);
    }
    expect(resolve({ isolation: { permission: false } })).toMatchObject({ isolation: { permission: undefined } });
    for (const floodMs of [-1, 1.5, Number.NaN, '10']) {
      expect(() => resolve({ isolation: { floodMs } })).toThrow(/isolation\.floodMs must be a non-negative integer/);
    }
  });
});
