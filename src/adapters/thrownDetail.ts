import { messageOf } from '../errors.js';

/**
 * Characters of a thrown value's description a failure's `detail` keeps. A message may be
 * megabytes; out of thread the detail travels in a control reply of at most 1 MiB (two bytes
 * a character at worst), and must fit it with room to spare.
 */
export const THROWN_DETAIL_MAX_LENGTH = 256 * 1024;

/**
 * A thrown value as a failure's `detail`, the same in every mode: its `name: message`, cut
 * to {@link THROWN_DETAIL_MAX_LENGTH} characters.
 *
 * @example
 * ```ts
 * throw new GenerationFault({ cause: 'threw', detail: thrownDetail(error) }, error);
 * ```
 */
export function thrownDetail(thrown: unknown): string {
  const message = messageOf(thrown);
  return message.length > THROWN_DETAIL_MAX_LENGTH ? `${message.slice(0, THROWN_DETAIL_MAX_LENGTH)} … (cut)` : message;
}
