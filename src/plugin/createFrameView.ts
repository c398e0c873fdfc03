import { FrameExpired } from '../errors.js';
import type { FrameView } from './types.js';

/** The metadata of a frame, without its bytes. */
export interface FrameMeta {
  readonly seq: number;
  readonly generation: number;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly timestamp: number;
}

/** A {@link FrameView} together with the switch that ends its lifetime. */
export interface FrameViewHandle {
  readonly view: FrameView;
  /** Ends the view's lifetime: from now on `view.data` throws `FrameExpired`. Idempotent. */
  expire(): void;
}

/**
 * Builds the `FrameView` a plugin receives, enforcing the payload-lifetime rule the same way
 * in every mode: `data` may be read until `expire()` is called (when `onFrame` settles).
 * Every guest (inline, worker, child) builds its views here, so the rule cannot drift.
 */
export function createFrameView(meta: FrameMeta, data: Uint8Array): FrameViewHandle {
  let bytes: Uint8Array | undefined = data;
  const view: FrameView = {
    seq: meta.seq,
    generation: meta.generation,
    width: meta.width,
    height: meta.height,
    format: meta.format,
    timestamp: meta.timestamp,
    get data(): Uint8Array {
      if (bytes === undefined) throw new FrameExpired(meta.seq, meta.generation);
      return bytes;
    },
  };
  return {
    view: Object.freeze(view),
    expire() {
      bytes = undefined;
    },
  };
}
