/**
 * `value` with every view over `shared` inside it replaced by a copy; `value` itself when it
 * holds none (the common case: nothing is copied or allocated). For the embedded guest,
 * whose messages cross by structured cloning, which keeps a view over a SharedArrayBuffer a
 * view over the same memory: a plugin that emitted or returned `frame.data` handed the
 * application a live window on every frame slot of the instance (its bytes changing as slots
 * were reused, writable), where inline and isolated hand over a copy.
 *
 * @example
 * ```ts
 * port.postMessage({ t: 'output', channel, value: detachSharedViews(value, slots) });
 * ```
 */
export function detachSharedViews<T>(value: T, shared: SharedArrayBuffer): T {
  if (typeof value !== 'object' || value === null || !holdsViewOf(value, shared, new Set())) return value;
  return replaceViews(value, shared, new Map()) as T;
}

function isViewOf(value: object, shared: SharedArrayBuffer): value is ArrayBufferView {
  return ArrayBuffer.isView(value) && value.buffer === shared;
}

/** Whether a view over `shared` is reachable from `value` (own enumerable properties, Map and Set entries). */
function holdsViewOf(value: object, shared: SharedArrayBuffer, seen: Set<object>): boolean {
  if (seen.has(value)) return false;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return value.buffer === shared;
  const children: unknown[] = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  for (const child of children) {
    if (typeof child === 'object' && child !== null && holdsViewOf(child, shared, seen)) return true;
  }
  return false;
}

/** A copy of the structure around the views over `shared` (each copied), sharing nothing else it need not. */
function replaceViews(value: unknown, shared: SharedArrayBuffer, done: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = done.get(value);
  if (known !== undefined) return known;
  if (isViewOf(value, shared)) {
    const bytes = new Uint8Array(value.byteLength);
    bytes.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    const copy = value instanceof DataView ? new DataView(bytes.buffer) : new (value.constructor as new (buffer: ArrayBuffer) => ArrayBufferView)(bytes.buffer);
    done.set(value, copy);
    return copy;
  }
  if (value instanceof Map) {
    const map = new Map<unknown, unknown>();
    done.set(value, map);
    for (const [k, v] of value) map.set(replaceViews(k, shared, done), replaceViews(v, shared, done));
    return map;
  }
  if (value instanceof Set) {
    const set = new Set<unknown>();
    done.set(value, set);
    for (const item of value) set.add(replaceViews(item, shared, done));
    return set;
  }
  if (Array.isArray(value)) {
    const array: unknown[] = [];
    done.set(value, array);
    for (const item of value) array.push(replaceViews(item, shared, done));
    return array;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof RegExp || value instanceof Error) return value;
  // A plain object (what structured cloning makes of any other): its own enumerable properties.
  const object: Record<string, unknown> = {};
  done.set(value, object);
  for (const [key, item] of Object.entries(value)) object[key] = replaceViews(item, shared, done);
  return object;
}
