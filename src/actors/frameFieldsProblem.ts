/** Largest frame width or height: out of thread, each travels as 32 bits in shared memory. */
export const MAX_FRAME_DIMENSION = 0xffff_ffff;

/**
 * Why a frame with these fields is refused (the rules of `connect()`), or undefined when it is
 * not. The fields come as values read once (a getter may answer differently each time), as
 * arguments, not an object: the runtime checks every frame with it.
 *
 * @example
 * ```ts
 * const { data, width, height, format, timestamp } = frame;
 * const problem = frameFieldsProblem(data, width, height, format, timestamp, maxFrameBytes);
 * if (problem !== undefined) throw new InvalidOptions(`invalid frame: ${problem}`);
 * ```
 */
export function frameFieldsProblem(
  data: unknown,
  width: unknown,
  height: unknown,
  format: unknown,
  timestamp: unknown,
  maxFrameBytes = Number.POSITIVE_INFINITY,
): string | undefined {
  if (!(data instanceof Uint8Array)) return 'data must be a Uint8Array';
  // `length`, not `byteLength` (equal for a Uint8Array): V8 inlines the first, not the second.
  const bytes = data.length;
  if (bytes === 0) return 'data is empty';
  if (bytes > maxFrameBytes) return `data is ${bytes} bytes, above frames.maxFrameBytes (${maxFrameBytes})`;
  // 32 bits each: what shared memory carries out of thread (and far beyond any image).
  if (!Number.isSafeInteger(width) || (width as number) <= 0 || (width as number) > MAX_FRAME_DIMENSION) {
    return `width must be an integer in 1..${MAX_FRAME_DIMENSION}`;
  }
  if (!Number.isSafeInteger(height) || (height as number) <= 0 || (height as number) > MAX_FRAME_DIMENSION) {
    return `height must be an integer in 1..${MAX_FRAME_DIMENSION}`;
  }
  if (typeof format !== 'string' || format.length === 0 || format.length > 32) return 'format must be a string of 1 to 32 characters';
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return 'timestamp must be a finite number';
  return undefined;
}
