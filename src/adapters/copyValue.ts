import { serialize } from 'node:v8';
import { Buffer } from 'node:buffer';
import type { Mode } from '../machines/lifecycleTypes.js';
import { deserializeOwnBytes } from '../transport/OwnBytesDeserializer.js';

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

/**
 * A copy of `value` as a plugin in `mode` receives it: {@link copyValue} in the host's
 * process; for an isolated plugin, through `v8.serialize`, as its pipe carries it, so what
 * cannot cross a process (a `SharedArrayBuffer`, for one) is refused where it is handed in,
 * not found unsendable later.
 *
 * @throws DOMException `DataCloneError` when the value cannot be copied for that mode.
 */
export function copyValueFor<T>(mode: Mode, value: T): T {
  if (mode !== 'isolated' || isImmutablePrimitive(value)) return copyValue(value);
  let bytes: Buffer;
  try {
    bytes = serialize(value);
  } catch (error) {
    // What no mode can copy fails as it does everywhere (the same DataCloneError); what only
    // a process boundary refuses (a SharedArrayBuffer, for one) says so.
    structuredClone(value);
    throw new DOMException(`${error instanceof Error ? error.message : 'the value could not be cloned'} (it must cross to the plugin's process)`, 'DataCloneError');
  }
  // Views of their own: a plain deserialize leaves each typed array a view of `bytes`.
  return deserializeOwnBytes(bytes) as T;
}
