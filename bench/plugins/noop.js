// @ts-check
/**
 * Bench plugin: does as little as a consumer can. `onFrame` reads every 4096th byte of the
 * frame (what the peers' SAB/postMessage consumers do, so hand-off numbers compare like for
 * like); `onMessage` echoes the message back (it is structured-cloned back to the caller).
 */
import { definePlugin } from 'plugin-seam/plugin';

/** Sink for the bytes read, so the reads are not optimised away. */
let checksum = 0;

export default definePlugin({
  name: 'bench-noop',
  onFrame(frame) {
    const data = frame.data;
    let sum = 0;
    for (let i = 0; i < data.length; i += 4096) sum += data[i] ?? 0;
    checksum = (checksum + sum) | 0;
  },
  onMessage(message) {
    return message;
  },
});
