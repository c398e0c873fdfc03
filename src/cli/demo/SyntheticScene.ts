import { writeFrameHeader } from './frameHeader.js';

/** An axis-aligned rectangle in pixels. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

interface Shape {
  /** Size as a fraction of the frame's width and height. */
  readonly fw: number;
  readonly fh: number;
  /** Gray level of the shape (the background stays below 64). */
  readonly value: number;
  /** Lissajous motion: frequencies in Hz and phases in radians. */
  readonly hz: readonly [number, number];
  readonly phase: readonly [number, number];
}

// Five bright shapes on slow Lissajous paths: distinct sizes, levels and speeds, so the
// detections change every frame and shapes sometimes cross (and merge into one blob).
const SHAPES: readonly Shape[] = [
  { fw: 0.09, fh: 0.14, value: 250, hz: [0.11, 0.17], phase: [0, 1.1] },
  { fw: 0.05, fh: 0.08, value: 215, hz: [0.23, 0.13], phase: [2.0, 0.3] },
  { fw: 0.12, fh: 0.06, value: 190, hz: [0.07, 0.29], phase: [4.1, 2.6] },
  { fw: 0.04, fh: 0.16, value: 235, hz: [0.31, 0.09], phase: [1.3, 5.0] },
  { fw: 0.07, fh: 0.07, value: 200, hz: [0.17, 0.21], phase: [5.5, 3.9] },
];

/**
 * The demo's synthetic camera: 8-bit gray frames (one byte per pixel) of a dark vertical
 * gradient with bright rectangles moving over it, plus the frame header in the first bytes.
 *
 * It must stay cheap at 1080p and 4K on a small machine, so it never touches pixels one by
 * one in JavaScript, and it draws with `set()` (a memcpy) only: the background is one copy of
 * a gradient prepared once, each rectangle row is one copy of a prepared run of its gray
 * level. Not `fill()`: on a view of a `SharedArrayBuffer` (every frame slot is one) V8 fills
 * byte by byte, about 13 times slower than a memcpy (3 ms instead of 0.25 ms for 8 MB here).
 *
 * @example
 * ```ts
 * const scene = new SyntheticScene(1920, 1080, 30);
 * const slot = await instance.acquire(scene.frameBytes);
 * scene.render(slot.data, frameIndex);
 * ```
 */
export class SyntheticScene {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Bytes of one frame. */
  readonly frameBytes: number;
  /** The whole background (private memory, where `fill()` is a memset). */
  readonly #background: Uint8Array;
  /** One frame-wide run of each shape's gray level, copied row by row. */
  readonly #runs: readonly Uint8Array[];

  constructor(width: number, height: number, fps: number) {
    this.width = width;
    this.height = height;
    this.fps = fps;
    this.frameBytes = width * height;
    // One gray level per row: 16 at the top to 56 at the bottom.
    this.#background = new Uint8Array(this.frameBytes);
    for (let y = 0; y < height; y++) {
      this.#background.fill(16 + Math.round((40 * y) / Math.max(1, height - 1)), y * width, (y + 1) * width);
    }
    this.#runs = SHAPES.map((s) => new Uint8Array(width).fill(s.value));
  }

  /** Where the shapes are in frame `frameIndex` (the ground truth a detector should find). */
  shapesAt(frameIndex: number): Rect[] {
    const t = frameIndex / this.fps;
    return SHAPES.map((s) => {
      const w = Math.max(2, Math.round(s.fw * this.width));
      const h = Math.max(2, Math.round(s.fh * this.height));
      const u = (Math.sin(2 * Math.PI * s.hz[0] * t + s.phase[0]) + 1) / 2;
      const v = (Math.sin(2 * Math.PI * s.hz[1] * t + s.phase[1]) + 1) / 2;
      // Keep a margin of one shape height at the top: the header lives in row 0.
      const y0 = Math.min(this.height - h, Math.max(1, Math.round(h / 2)));
      return { x: Math.round(u * (this.width - w)), y: y0 + Math.round(v * (this.height - h - y0)), w, h };
    });
  }

  /** Draws frame `frameIndex` into `data` (at least {@link frameBytes} long) and stamps its header. */
  render(data: Uint8Array, frameIndex: number): void {
    const { width } = this;
    data.set(this.#background);
    const rects = this.shapesAt(frameIndex);
    for (let i = 0; i < rects.length; i++) {
      const r = rects[i];
      const run = this.#runs[i];
      if (r === undefined || run === undefined) continue;
      const span = run.subarray(0, r.w);
      for (let y = r.y; y < r.y + r.h; y++) data.set(span, y * width + r.x);
    }
    writeFrameHeader(data, frameIndex);
  }
}
