/**
 * Whether `value` is an AbortSignal, of any realm: what a wait listens to is all it needs.
 *
 * @example
 * ```ts
 * isAbortSignal(new AbortController().signal); // true
 * isAbortSignal({ signal }); // false: fetch's options, not a signal
 * ```
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<AbortSignal>;
  return typeof candidate.aborted === 'boolean' && typeof candidate.addEventListener === 'function' && typeof candidate.removeEventListener === 'function';
}
