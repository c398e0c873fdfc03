import type { CheckInput } from './CheckOptions.js';

/** Deterministic, non-repeating bytes: the same pattern in every run of every check. */
function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 17 + (i >> 3) * 7) & 0xff;
  return bytes;
}

function frame(width: number, height: number, format: string, channels: number, timestamp: number, data: Uint8Array | number): CheckInput {
  const length = width * height * channels;
  return {
    frame: { width, height, format, timestamp, data: typeof data === 'number' ? pattern(length, data) : data },
  };
}

/**
 * The inputs a check feeds when none are given: seven frames and three JSON messages,
 * interleaved. The frames differ in size (growing and shrinking, so a kept `frame.data`
 * outlives its slot in every mode), in format and in bytes (patterned, all zero, all
 * 0xff); the messages are an object, a nested object and a string. Returns fresh buffers
 * on every call: extend or reorder the list freely.
 *
 * A plugin that expects particular messages should be given its own inputs: what it
 * replies to unknown ones (even a throw) is recorded and compared like anything else.
 *
 * @example
 * ```ts
 * const inputs = [...defaultCheckInputs(), { message: { type: 'flush' } }];
 * for (const c of conformanceCases(pluginUrl, { inputs })) it(c.name, c.run, c.timeoutMs);
 * ```
 */
export function defaultCheckInputs(): CheckInput[] {
  return [
    frame(4, 4, 'gray', 1, 0, 1),
    frame(4, 4, 'rgba', 4, 33.3, 2),
    { message: { type: 'ping', n: 1 } },
    frame(3, 3, 'rgb', 3, 66.6, 3),
    frame(16, 16, 'gray', 1, 100, 4),
    { message: { type: 'query', keys: ['a', 'b'], nested: { depth: 2, list: [1, 2.5, null, true] } } },
    frame(2, 2, 'gray', 1, 133.3, new Uint8Array(4)),
    frame(8, 4, 'rgba', 4, 166.6, new Uint8Array(128).fill(0xff)),
    frame(5, 3, 'bgr', 3, 200, 5),
    { message: 'hello' },
  ];
}
