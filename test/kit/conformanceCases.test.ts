// The conformance kit used the way a plugin author would: its cases inside vitest `it`s.
import { describe, expect, it } from 'vitest';
import { InvalidOptions, InvalidPlugin } from 'plugin-seam';
import { ConformanceError, conformanceCases } from 'plugin-seam/testing';
import type { CheckInput, ConformanceCase } from 'plugin-seam/testing';
import { fixture } from './seamProcess.js';

describe('check-good-frames conforms in every mode', () => {
  for (const c of conformanceCases(fixture('check-good-frames'), { config: { label: 'kit' } })) it(c.name, c.run, c.timeoutMs);
});

function byCheck(cases: readonly ConformanceCase[], check: ConformanceCase['check']): ConformanceCase {
  const found = cases.find((c) => c.check === check);
  if (found === undefined) throw new Error(`no ${check} case`);
  return found;
}

describe('conformance cases', () => {
  it('lists every check per mode, comparing each mode with the first', () => {
    const cases = conformanceCases(fixture('check-good-echo'), { modes: ['embedded', 'inline'] });
    expect(cases.map((c) => `${c.mode} ${c.check}`)).toEqual([
      ...['start', 'inputs', 'stop', 'restart', 'payload', 'instances'].map((c) => `embedded ${c}`),
      ...['start', 'inputs', 'stop', 'restart', 'payload', 'instances', 'modes'].map((c) => `inline ${c}`),
    ]);
    expect(cases.at(-1)?.name).toBe('[inline] gives the same transcripts as embedded');
    expect(cases.every((c) => c.timeoutMs > 0)).toBe(true);
  });

  it('fails the instances case of shared module state with a ConformanceError naming the input and both values', async () => {
    const inputs: CheckInput[] = [{ message: 'a' }, { message: 'b' }];
    const cases = conformanceCases(fixture('check-shared-state'), { modes: ['inline'], inputs });
    for (const check of ['start', 'inputs', 'stop', 'restart', 'payload'] as const) await byCheck(cases, check).run();
    const error = await byCheck(cases, 'instances')
      .run()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceError);
    // One instance counts 1, 2; side by side, A answers 1, 3 and B answers 2, 4.
    expect(error).toMatchObject({
      name: 'ConformanceError',
      code: 'ERR_CONFORMANCE',
      check: 'instances',
      mode: 'inline',
      expected: 'reply {received: "b", count: 2}',
      actual: 'reply {received: "b", count: 3}',
    });
    const { differences, message } = error as ConformanceError;
    expect(differences.map((d) => [d.run, d.input, d.expected, d.actual])).toEqual([
      ['instance A', 2, 'reply {received: "b", count: 2}', 'reply {received: "b", count: 3}'],
      ['instance B', 1, 'reply {received: "a", count: 1}', 'reply {received: "a", count: 2}'],
    ]);
    expect(message).toContain('in inline, instance B differs from a single instance at input 1 (message "a")');
    expect(message).toContain('the instances share state');
  });

  it('fails the payload case of a plugin that reads a kept frame.data after onFrame', async () => {
    // The second frame does not fit the first one's buffer: the kept view is left behind,
    // intact without poisoning and overwritten with 0xDE with it.
    const frame = (length: number, fill: number): CheckInput => ({
      frame: { width: length, height: 1, format: 'gray', timestamp: 0, data: new Uint8Array(length).fill(fill) },
    });
    const cases = conformanceCases(fixture('check-retains-frame'), { modes: ['inline'], inputs: [frame(4, 1), frame(64, 3)] });
    const error = await byCheck(cases, 'payload')
      .run()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceError);
    expect(error).toMatchObject({
      check: 'payload',
      expected: 'emit diff {seq: 2, diff: 8}\ndone',
      actual: `emit diff {seq: 2, diff: ${4 * (0xde - 3)}}\ndone`,
    });
    expect((error as ConformanceError).message).toMatch(/likely cause: the plugin reads frame bytes after its onFrame call settled/);
  });

  it('refuses bad options at once, and an unreadable module when a case runs', async () => {
    expect(() => conformanceCases(fixture('check-good-echo'), { modes: [] })).toThrow(InvalidOptions);
    expect(() => conformanceCases(fixture('check-good-echo'), { inputs: [{} as CheckInput] })).toThrow(/inputs\[0\] must be/);
    const [first] = conformanceCases(fixture('missing-plugin'));
    await expect(first?.run()).rejects.toThrow(InvalidPlugin);
  });
});
