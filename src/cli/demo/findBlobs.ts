/** One bright region found in a gray frame, in pixels. */
export interface Blob {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** Grid cells above the threshold: the blob's area in cells. */
  readonly cells: number;
  /** Mean gray level of its bright cells. */
  readonly level: number;
}

/** How the detector samples a frame. */
export interface BlobSettings {
  /** Gray level above which a sample counts as bright (0..255). */
  readonly threshold: number;
  /** Side of a grid cell in pixels: one sample per cell. */
  readonly cell: number;
  /** Smallest blob reported, in cells. */
  readonly minCells: number;
  /** At most this many blobs are reported (the largest ones). */
  readonly maxBlobs: number;
}

/**
 * Finds the bright blobs of an 8-bit gray frame: samples the centre of every `cell`×`cell`
 * block (a 1080p frame with 8 px cells is 32k samples, not 2M pixels, so the detector keeps
 * up at video rate), thresholds the samples, and groups bright cells into 4-connected
 * components. Each component becomes a bounding box in pixels.
 *
 * @example
 * ```ts
 * const blobs = findBlobs(frame.data, frame.width, frame.height, { threshold: 128, cell: 8, minCells: 2, maxBlobs: 16 });
 * ```
 */
export function findBlobs(data: Uint8Array, width: number, height: number, settings: BlobSettings): Blob[] {
  const cell = Math.max(1, Math.floor(settings.cell));
  const gw = Math.floor(width / cell);
  const gh = Math.floor(height / cell);
  if (gw === 0 || gh === 0) return [];
  const half = cell >> 1;
  const levels = new Uint8Array(gw * gh);
  // 0 = dark, 1 = bright and unvisited, 2 = visited.
  const mask = new Uint8Array(gw * gh);
  for (let gy = 0; gy < gh; gy++) {
    const row = (gy * cell + half) * width + half;
    for (let gx = 0; gx < gw; gx++) {
      const level = data[row + gx * cell] ?? 0;
      const i = gy * gw + gx;
      levels[i] = level;
      if (level > settings.threshold) mask[i] = 1;
    }
  }
  const blobs: Blob[] = [];
  const stack = new Int32Array(gw * gh);
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] !== 1) continue;
    let top = 0;
    stack[top++] = start;
    mask[start] = 2;
    let minX = gw;
    let minY = gh;
    let maxX = -1;
    let maxY = -1;
    let cells = 0;
    let sum = 0;
    while (top > 0) {
      const i = stack[--top] ?? 0;
      const gx = i % gw;
      const gy = (i - gx) / gw;
      cells += 1;
      sum += levels[i] ?? 0;
      if (gx < minX) minX = gx;
      if (gx > maxX) maxX = gx;
      if (gy < minY) minY = gy;
      if (gy > maxY) maxY = gy;
      if (gx > 0 && mask[i - 1] === 1) {
        mask[i - 1] = 2;
        stack[top++] = i - 1;
      }
      if (gx < gw - 1 && mask[i + 1] === 1) {
        mask[i + 1] = 2;
        stack[top++] = i + 1;
      }
      if (gy > 0 && mask[i - gw] === 1) {
        mask[i - gw] = 2;
        stack[top++] = i - gw;
      }
      if (gy < gh - 1 && mask[i + gw] === 1) {
        mask[i + gw] = 2;
        stack[top++] = i + gw;
      }
    }
    if (cells < settings.minCells) continue;
    blobs.push({
      x: minX * cell,
      y: minY * cell,
      w: (maxX - minX + 1) * cell,
      h: (maxY - minY + 1) * cell,
      cells,
      level: Math.round(sum / cells),
    });
  }
  blobs.sort((a, b) => b.cells - a.cells);
  return blobs.slice(0, settings.maxBlobs);
}
