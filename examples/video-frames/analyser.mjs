// A frame analyser on the hot path: the mean brightness of each RGBA frame.
//
// It also shows the payload lifetime rule. `frame.data` is valid only until the promise
// returned by onFrame settles; after that the slot is recycled for another frame. So the
// plugin copies what it wants to keep (`slice()`), and a FrameView kept by mistake throws
// `FrameExpired` instead of showing bytes of some later frame.
import { definePlugin } from 'plugin-seam/plugin';

/** The first pixels of the latest frame: a copy, so it stays valid. */
let keptCopy;
/** The latest FrameView itself, kept only to show what happens when you do that. */
let keptView;

export default definePlugin({
  name: 'analyser',

  onFrame(frame, ctx) {
    const data = frame.data;
    let sum = 0;
    // Sample one pixel in 64 (the G channel): plenty for a mean, cheap at any frame rate.
    for (let i = 1; i < data.length; i += 256) sum += data[i];
    const mean = sum / Math.ceil(data.length / 256);
    if (frame.seq % ctx.config.reportEvery === 0) {
      ctx.emit('brightness', { seq: frame.seq, mean: Math.round(mean) });
    }
    keptCopy = data.slice(0, 8); // right: a copy of the bytes, ours to keep
    keptView = frame; // wrong on purpose: the view expires when this call returns
  },

  onMessage(message) {
    if (message.op !== 'lifetime') throw new Error(`unknown op ${message.op}`);
    let viewAfterSettle;
    try {
      viewAfterSettle = `still readable (${keptView.data.byteLength} bytes)`;
    } catch (error) {
      viewAfterSettle = `${error.name}: ${error.message}`;
    }
    return { copy: Array.from(keptCopy ?? []), viewAfterSettle };
  },
});
