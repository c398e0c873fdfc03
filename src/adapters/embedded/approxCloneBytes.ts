/**
 * Roughly how many bytes a structured clone of `value` carries: the bytes of its typed arrays,
 * ArrayBuffers and DataViews, its strings' lengths, and 8 per other value, walking at most
 * `maxNodes` values (the elements of arrays, maps, sets and objects left past that count 8 or
 * 16 each, and a value reached twice counts twice: an estimate, close for the values that
 * weigh — a few large buffers or strings, or many small values). Never throws: a getter is not a clone's
 * concern, and a value that cannot be cloned fails in `postMessage` right after.
 *
 * Why: the embedded guest's credit for outputs counted messages only, and 256 outputs of
 * 8 MiB each (2 GiB) waited in the port, decoded by the host in one go for seconds.
 *
 * @example
 * ```ts
 * approxCloneBytes({ frame: new Uint8Array(8 << 20) }); // ≈ 8 MiB
 * ```
 */
export function approxCloneBytes(value: unknown, maxNodes = 4_096): number {
  // The common outputs first, without the walk's allocations.
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null) return 8;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
  let bytes = 0;
  let nodes = 0;
  // No record of what was seen: a cycle (or a shared value) only uses up the node budget.
  const stack: unknown[] = [value];
  while (stack.length > 0 && nodes < maxNodes) {
    const next = stack.pop();
    nodes += 1;
    if (typeof next === 'string') {
      bytes += next.length;
      continue;
    }
    if (typeof next !== 'object' || next === null) {
      bytes += 8;
      continue;
    }
    if (ArrayBuffer.isView(next) || next instanceof ArrayBuffer) {
      bytes += next.byteLength;
      continue;
    }
    // Pushed only up to the budget: a wide array must not cost its whole width here. What the
    // budget leaves unvisited still counts, 8 bytes a value (16 a key and value): a million
    // numbers must not weigh as the few thousand walked.
    const room = Math.max(0, maxNodes - nodes - stack.length);
    try {
      if (Array.isArray(next)) {
        const taken = Math.min(next.length, room);
        for (let i = 0; i < taken; i++) stack.push(next[i]);
        bytes += (next.length - taken) * 8;
      } else if (next instanceof Map || next instanceof Set) {
        let taken = 0;
        for (const entry of next) {
          if (taken === room) break;
          stack.push(entry);
          taken += 1;
        }
        bytes += (next.size - taken) * 16;
      } else {
        const keys = Object.keys(next);
        const taken = Math.min(keys.length, room);
        for (let i = 0; i < taken; i++) {
          const key = keys[i] as string;
          bytes += key.length;
          stack.push((next as Record<string, unknown>)[key]);
        }
        bytes += (keys.length - taken) * 16;
      }
    } catch {
      // A getter or proxy that throws: the clone will say so.
    }
  }
  return bytes;
}
