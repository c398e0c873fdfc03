// How a plugin author runs the conformance kit from their own vitest: one test per check
// and mode. Run it with `npx vitest run examples/testing-your-plugin` (this repository runs
// it as part of `npm test`).
import { describe, it } from 'vitest';
import { conformanceCases } from 'plugin-seam/testing';

// Frames and messages to feed; leave `inputs` out to use the kit's default set.
const gray = (fill, width = 32, height = 8) => ({
  frame: { width, height, format: 'gray', timestamp: fill, data: new Uint8Array(width * height).map((_, i) => (fill + i) & 0xff) },
});

describe('histogram plugin conforms in every mode', () => {
  const cases = conformanceCases(new URL('./histogram.mjs', import.meta.url), {
    inputs: [gray(0), gray(100), { message: { op: 'count' } }, gray(200, 64, 4), { message: { op: 'nope' } }],
  });
  for (const c of cases) it(c.name, c.run, c.timeoutMs);
});
