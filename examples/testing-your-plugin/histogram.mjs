// A plugin under test: a 16-bin brightness histogram per gray frame, and a running count
// per generation that a message reads back. Everything it keeps is its own copy, and its
// state hangs off the generation's context, not the module — so it behaves the same in
// every mode, which is exactly what the conformance kit checks.
import { definePlugin } from 'plugin-seam/plugin';

const counts = new WeakMap();

export default definePlugin({
  name: 'histogram',

  start(ctx) {
    counts.set(ctx, 0);
  },

  onFrame(frame, ctx) {
    const bins = new Array(16).fill(0);
    for (const byte of frame.data) bins[byte >> 4] += 1;
    counts.set(ctx, counts.get(ctx) + 1);
    ctx.emit('histogram', { seq: frame.seq, bins });
  },

  onMessage(message, ctx) {
    if (message?.op !== 'count') throw new TypeError(`unknown op ${JSON.stringify(message?.op)}`);
    return counts.get(ctx);
  },
});
