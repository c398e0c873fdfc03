import { types } from 'node:util';

/**
 * `value` with every view over `shared` inside it replaced by a copy; `value` itself when it
 * holds none (the common case: nothing is copied or allocated). For the embedded guest,
 * whose messages cross by structured cloning, which keeps a view over a SharedArrayBuffer a
 * view over the same memory: a plugin that emitted or returned `frame.data` handed the
 * application a live window on every frame slot of the instance (its bytes changing as slots
 * were reused, writable), where inline and isolated hand over a copy. An Error's cause is
 * walked too (cloning keeps it), and an array keeps its holes and named properties. The
 * shared buffer itself (`frame.data.buffer`) cannot be handed over: a DataCloneError, as in
 * a process of its own.
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

/** What a clone would read of `value` besides its own enumerable properties: an Error's cause. */
function errorCause(value: object): unknown[] {
  if (!(value instanceof Error)) return [];
  try {
    return Object.hasOwn(value, 'cause') ? [value.cause] : [];
  } catch {
    return [];
  }
}

/** Own enumerable values, as cloning reads them; a getter or proxy that throws reads as nothing here (the clone will throw it). */
function childrenOf(value: object): unknown[] {
  try {
    if (value instanceof Map) return [...value.keys(), ...value.values()];
    if (value instanceof Set) return [...value];
    return [...(Object.values(value) as unknown[]), ...errorCause(value)];
  } catch {
    return [];
  }
}

/** Whether `shared`, or a view over it, is reachable from `value` (own enumerable properties, Map and Set entries, an Error's cause). */
function holdsViewOf(value: object, shared: SharedArrayBuffer, seen: Set<object>): boolean {
  if (seen.has(value)) return false;
  seen.add(value);
  if (value === shared) return true;
  if (ArrayBuffer.isView(value)) return value.buffer === shared;
  for (const child of childrenOf(value)) {
    if (typeof child === 'object' && child !== null && holdsViewOf(child, shared, seen)) return true;
  }
  return false;
}

/** Values cloning copies whole, with no view of `shared` inside, or refuses (a proxy): kept as they are. */
function isLeaf(value: object): boolean {
  return (
    types.isProxy(value) ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof SharedArrayBuffer ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Number ||
    value instanceof String ||
    value instanceof Boolean ||
    value instanceof BigInt ||
    value instanceof Blob
  );
}

/** A copy of the structure around the views over `shared` (each copied), sharing nothing else it need not. */
function replaceViews(value: unknown, shared: SharedArrayBuffer, done: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = done.get(value);
  if (known !== undefined) return known;
  if (value === shared) {
    // The frame slots themselves: every frame of the instance, live. In its own process a
    // plugin cannot hand them over either.
    throw new DOMException('#<SharedArrayBuffer> could not be cloned: the frame slots cannot be handed over (copy frame.data)', 'DataCloneError');
  }
  if (isViewOf(value, shared)) {
    const bytes = new Uint8Array(value.byteLength);
    bytes.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    const copy = value instanceof DataView ? new DataView(bytes.buffer) : new (value.constructor as new (buffer: ArrayBuffer) => ArrayBufferView)(bytes.buffer);
    done.set(value, copy);
    return copy;
  }
  if (isLeaf(value)) return value;
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
  if (value instanceof Error) {
    // Cloning keeps an Error's name (its own, else its prototype's), message, stack (or its
    // absence) and cause: so does this.
    const error = new Error(value.message);
    Object.setPrototypeOf(error, Object.getPrototypeOf(value) as object);
    done.set(value, error);
    for (const key of ['name', 'stack'] as const) {
      if (Object.hasOwn(value, key)) Object.defineProperty(error, key, { value: value[key], writable: true, configurable: true, enumerable: false });
      else Reflect.deleteProperty(error, key);
    }
    if (Object.hasOwn(value, 'cause')) error.cause = replaceViews(value.cause, shared, done);
    return error;
  }
  // An array keeps its length, its holes and its named properties; anything else becomes what
  // structured cloning makes of it, an object of its own enumerable properties.
  const copy: Record<string, unknown> = Array.isArray(value) ? (new Array(value.length) as unknown as Record<string, unknown>) : {};
  done.set(value, copy);
  for (const [key, item] of Object.entries(value)) copy[key] = replaceViews(item, shared, done);
  return copy;
}
