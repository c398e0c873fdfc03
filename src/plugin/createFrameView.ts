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
 * One frame as a plugin sees it. A class, not an object literal with a closure: this runs
 * once per frame on the hot path, and a shared prototype getter costs nothing per frame.
 */
class FrameViewImpl implements FrameView {
  readonly seq: number;
  readonly generation: number;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly timestamp: number;
  #bytes: Uint8Array | undefined;

  constructor(meta: FrameMeta, data: Uint8Array) {
    this.seq = meta.seq;
    this.generation = meta.generation;
    this.width = meta.width;
    this.height = meta.height;
    this.format = meta.format;
    this.timestamp = meta.timestamp;
    this.#bytes = data;
  }

  get data(): Uint8Array {
    if (this.#bytes === undefined) throw new FrameExpired(this.seq, this.generation);
    return this.#bytes;
  }

  /** Ends a view's lifetime (static, so plugins see no `expire` on their frames). */
  static expire(view: FrameViewImpl): void {
    view.#bytes = undefined;
  }
}

/**
 * Builds the `FrameView` a plugin receives, enforcing the payload-lifetime rule the same way
 * in every mode: `data` may be read until `expire()` is called (when `onFrame` settles).
 * Every guest (inline, worker, child) builds its views here, so the rule cannot drift.
 */
export function createFrameView(meta: FrameMeta, data: Uint8Array): FrameViewHandle {
  const view = new FrameViewImpl(meta, data);
  return {
    view,
    expire() {
      FrameViewImpl.expire(view);
    },
  };
}
