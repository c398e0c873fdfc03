import { FrameExpired } from '../errors.js';
import type { FrameView } from './types.js';

/** What the application said of a frame (the runtime adds `seq` and `generation`). */
export interface FrameMeta {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly timestamp: number;
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

  constructor(seq: number, generation: number, meta: FrameMeta, data: Uint8Array) {
    this.seq = seq;
    this.generation = generation;
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
  static expire(view: FrameView): void {
    if (view instanceof FrameViewImpl) view.#bytes = undefined;
  }
}

/**
 * Builds the `FrameView` a plugin receives, enforcing the payload-lifetime rule the same way
 * in every mode: `data` may be read until {@link expireFrameView} is called (when `onFrame`
 * settles). Every guest (inline, worker, child) builds its views here, so the rule cannot
 * drift. One object per frame: no handle, closure or merged metadata beside it.
 */
export function createFrameView(seq: number, generation: number, meta: FrameMeta, data: Uint8Array): FrameView {
  return new FrameViewImpl(seq, generation, meta, data);
}

/** Ends the lifetime of a view {@link createFrameView} made: from now on `view.data` throws `FrameExpired`. Idempotent. */
export function expireFrameView(view: FrameView): void {
  FrameViewImpl.expire(view);
}
