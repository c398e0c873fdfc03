import { definePlugin } from '../../plugin/index.js';
import { findBlobs, type Blob, type BlobSettings } from './findBlobs.js';
import { readFrameHeader, type FrameHeader } from './frameHeader.js';

/** What the detector emits on its `detections` channel, once per frame. */
export interface FrameDetections {
  /** The frame index stamped in the frame's header by the camera. */
  readonly frame: number;
  readonly blobs: readonly Blob[];
}

/**
 * Reads the frame header through a callback, the way a callback-style decoder library
 * (a native binding, a hardware SDK) hands results back.
 *
 * This is the demo detector's bug, kept on purpose: `readFrameHeader` runs inside the
 * callback, so when it throws on a corrupt header nothing catches it — no promise, no
 * try/catch of the caller. The exception is uncaught and takes the whole plugin process
 * (or thread) down with it. The runtime sees that generation die (`lost`), restarts the
 * plugin, and the application's other instances never notice.
 */
function decodeHeader(data: Uint8Array, callback: (header: FrameHeader) => void): void {
  setImmediate(() => {
    callback(readFrameHeader(data));
  });
}

/**
 * The demo's detector: finds the bright moving shapes of each 8-bit gray frame and emits
 * their bounding boxes. The demo loads this one module twice, `embedded` and `isolated`.
 * `frame.data` is read only before `onFrame`'s promise settles (the payload lifetime rule).
 */
export default definePlugin<BlobSettings>({
  name: 'blob-detector',
  start(ctx) {
    ctx.log.info(`blob-detector generation ${ctx.generation} ready (threshold ${ctx.config.threshold}, cell ${ctx.config.cell} px)`);
  },
  onFrame(frame, ctx) {
    return new Promise<void>((resolve) => {
      decodeHeader(frame.data, (header) => {
        const blobs = findBlobs(frame.data, frame.width, frame.height, ctx.config);
        const detections: FrameDetections = { frame: header.frameIndex, blobs };
        ctx.emit('detections', detections);
        resolve();
      });
    });
  },
});
