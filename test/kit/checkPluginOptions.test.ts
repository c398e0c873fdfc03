// checkPlugin refuses what would make its verdict meaningless with InvalidOptions, before or
// after the runs: an input the runtime itself would refuse, a normalize that throws.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidOptions } from 'plugin-seam';
import { checkPlugin } from 'plugin-seam/testing';
import type { CheckInput, CheckProgress } from 'plugin-seam/testing';
import { fixture } from './seamProcess.js';

const frame = { width: 2, height: 2, format: 'gray', timestamp: 0, data: new Uint8Array(4) };

describe('checkPlugin options', () => {
  it.each([
    [{ frame: { ...frame, data: new Uint8Array(0) } }, /inputs\[0\]\.frame: data is empty/],
    [{ frame: { ...frame, width: 0 } }, /inputs\[0\]\.frame: width must be an integer/],
    [{ frame: { ...frame, format: '' } }, /inputs\[0\]\.frame: format must be a string/],
    [{ frame: { ...frame, timestamp: Number.NaN } }, /inputs\[0\]\.frame: timestamp must be a finite number/],
    [{ message: { run: () => 1 } }, /inputs\[0\]\.message: must be structured-cloneable/],
  ] as [CheckInput, RegExp][])('refuses an input the runtime would refuse, not blaming the plugin: %#', async (input, message) => {
    const checked = checkPlugin(fixture('check-good-echo'), { modes: ['inline'], inputs: [input] });
    await expect(checked).rejects.toBeInstanceOf(InvalidOptions);
    await expect(checked).rejects.toThrow(message);
  });

  it.each([
    [{ modes: ['inline'], timeouts: { stop: 2 ** 31 } }, /timeouts\.stop .*\(in inline\)/],
    [{ modes: ['inline'], isolation: { foo: 1 } }, /unknown option isolation\.foo/],
    [{ modes: ['inline'], limits: { maxHeapMb: 'x' } }, /limits\.maxHeapMb/],
    [{ modes: ['isolated'], config: new SharedArrayBuffer(4) }, /config cannot be handed to a plugin in isolated mode/],
    [{ modes: ['isolated'], inputs: [{ message: new SharedArrayBuffer(4) }] }, /inputs\[0\]\.message cannot be handed to a plugin in isolated mode/],
    [{ mode: ['inline'] }, /unknown option mode \(known: modes,/],
    [{ modes: ['inline'], timeouts: { heartbeat: 1 } }, /unknown option timeouts\.heartbeat/],
  ] as [Record<string, unknown>, RegExp][])('refuses options the runtime would refuse, or misspelt, before any run: %#', async (options, message) => {
    const checked = checkPlugin(fixture('check-good-echo'), options);
    await expect(checked).rejects.toBeInstanceOf(InvalidOptions);
    await expect(checked).rejects.toThrow(message);
  });

  it("passes a correct plugin with the runtime's longest deadlines (the kit's own bound must not overflow a timer)", async () => {
    const longest = 2 ** 31 - 1;
    const report = await checkPlugin(fixture('check-good-echo'), { modes: ['inline'], timeouts: { start: longest, stop: longest, input: longest } });
    expect(report.passed).toBe(true);
  });

  it('fails with InvalidOptions when normalize throws: the same failure in every mode proves nothing', async () => {
    const boom = new Error('cannot map this');
    const checked = checkPlugin(fixture('check-good-echo'), {
      modes: ['inline', 'embedded'],
      normalize: () => {
        throw boom;
      },
    });
    await expect(checked).rejects.toBeInstanceOf(InvalidOptions);
    await expect(checked).rejects.toMatchObject({ message: 'normalize threw: cannot map this', cause: boom });
  });

  it('tries a plugin whose start never settles once per mode, not once per run it would have made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seam-check-'));
    try {
      const marker = join(dir, 'starts');
      writeFileSync(marker, '');
      const report = await checkPlugin(fixture('check-never-starts'), { modes: ['embedded', 'isolated'], config: { marker }, timeouts: { start: 300, stop: 300 } });
      expect(report.passed).toBe(false);
      expect(report.results.filter((r) => r.check === 'start').map((r) => r.passed)).toEqual([false, false]);
      // The baseline's start in each mode: the poisoned and paired runs (three more starts a
      // mode, each its whole start deadline) are not made where nothing started.
      expect(readFileSync(marker, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells progress when each run of each mode begins and ends, and ignores a reporter that throws', async () => {
    const events: CheckProgress[] = [];
    const report = await checkPlugin(fixture('check-good-echo'), {
      modes: ['inline', 'embedded'],
      progress: (event) => {
        events.push(event);
        throw new Error('a reporter that throws');
      },
    });
    expect(report.passed).toBe(true);
    for (const mode of ['inline', 'embedded'] as const) {
      for (const run of ['baseline', 'poisoned', 'pair'] as const) {
        const mine = events.filter((e) => e.mode === mode && e.run === run);
        expect(mine.map((e) => e.phase)).toEqual(['begin', 'end']);
        expect(mine[0]?.text).toMatch(/^\w+ run: .*start \(deadline 10000 ms\), 10 inputs/);
        expect(mine[1]?.text).toMatch(/^done in \d+\.\d s$/);
      }
    }
  });

  it('refuses a progress that is not a function', async () => {
    await expect(checkPlugin(fixture('check-good-echo'), { progress: 'yes' as unknown as () => void })).rejects.toThrow(/progress must be a function/);
  });
});
