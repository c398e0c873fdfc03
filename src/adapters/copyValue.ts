/**
 * A copy of `value` with structured-clone semantics, as a value crossing to or from a plugin
 * gets in every mode. Strings, numbers, booleans, bigints, `null` and `undefined` are
 * immutable and clone to themselves: they are returned as they are, without the ~3 µs a
 * `structuredClone` call costs even for a short string (a message round trip pays it up to
 * four times). Anything else — objects, and symbols, which must fail with `DataCloneError` —
 * goes through `structuredClone`.
 *
 * @throws DOMException `DataCloneError` when the value cannot be cloned.
 */
export function copyValue<T>(value: T): T {
  return isImmutablePrimitive(value) ? value : structuredClone(value);
}

/** Whether {@link copyValue} returns `value` itself (an immutable primitive). */
export function isImmutablePrimitive(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint';
}
