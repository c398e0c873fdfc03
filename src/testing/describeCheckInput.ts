import type { CheckInput } from './CheckOptions.js';
import { canonicalValue, shorten } from './canonicalValue.js';

/** A short human description of an input: `frame 4×4 gray, 16 bytes` or `message {type: "ping"}`. */
export function describeCheckInput(input: CheckInput): string {
  if ('frame' in input) {
    const { width, height, format, data } = input.frame;
    return `frame ${width}×${height} ${format}, ${data.byteLength} bytes`;
  }
  return `message ${shorten(canonicalValue(input.message), 80)}`;
}
