import { createHash } from 'node:crypto';
import { types } from 'node:util';

/** Byte arrays longer than this are recorded by length, head and hash, not byte by byte. */
const INLINE_BYTES = 32;

function bytesOf(value: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): Uint8Array {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

function describeBytes(kind: string, length: number, bytes: Uint8Array): string {
  if (bytes.byteLength <= INLINE_BYTES) return `${kind}(${length})[${bytes.join(',')}]`;
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return `${kind}(${length})[${bytes.subarray(0, 8).join(',')},… sha256:${hash}]`;
}

function describeKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
}

function describe(value: unknown, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return String(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'string':
      return JSON.stringify(value);
    case 'symbol':
    case 'function':
      return String(value);
    case 'object':
      break;
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) return '[Circular]';
  ancestors.add(value);
  try {
    return describeObject(value, ancestors);
  } finally {
    ancestors.delete(value);
  }
}

function describeObject(value: object, ancestors: Set<object>): string {
  const inner = (v: unknown): string => describe(v, ancestors);
  if (types.isDate(value)) return Number.isNaN(value.getTime()) ? 'Date(Invalid)' : `Date(${value.toISOString()})`;
  if (types.isRegExp(value)) return String(value);
  if (types.isBoxedPrimitive(value)) return `${value.constructor.name}(${describe(value.valueOf(), ancestors)})`;
  if (types.isNativeError(value)) return `${value.name}(${JSON.stringify(value.message)})`;
  if (types.isMap(value)) return `Map{${[...value].map(([k, v]) => `${inner(k)} => ${inner(v)}`).join(', ')}}`;
  if (types.isSet(value)) return `Set{${[...value].map(inner).join(', ')}}`;
  if (types.isArrayBuffer(value) || types.isSharedArrayBuffer(value)) {
    return describeBytes(types.isArrayBuffer(value) ? 'ArrayBuffer' : 'SharedArrayBuffer', value.byteLength, bytesOf(value));
  }
  if (ArrayBuffer.isView(value)) {
    // A Buffer is a Uint8Array to toString; the application sees the difference (isolated
    // mode delivers a Buffer as a Buffer, the others as a plain Uint8Array).
    const kind = Buffer.isBuffer(value) ? 'Buffer' : Object.prototype.toString.call(value).slice(8, -1);
    const length = types.isDataView(value) ? value.byteLength : (value as unknown as ArrayLike<unknown>).length;
    return describeBytes(kind, length, bytesOf(value));
  }
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) items.push(i in value ? inner(value[i]) : '<empty>');
    return `[${items.join(', ')}]`;
  }
  const entries = Object.keys(value).map((key) => `${describeKey(key)}: ${inner((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(', ')}}`;
}

/**
 * One line of text for a structured-cloneable value, equal for two values exactly when an
 * application would find them equal: it distinguishes `undefined` from a missing key, `-0`,
 * `NaN`, a `Map` from an object, a `Date` from its string, and byte arrays by their bytes
 * (long ones by length, first bytes and a SHA-256 prefix). Object keys keep their order.
 * Used to record transcripts and to show a difference to a human.
 */
export function canonicalValue(value: unknown): string {
  return describe(value, new Set());
}

/** `text`, cut to `max` characters with an ellipsis. */
export function shorten(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Multi-line values cut line by line to `max` characters, each line of one value against the
 * same line of the others: where they are equal up to the cut, around the first character where
 * they part, so a difference past the cut (a long string, deep nesting) still shows instead of
 * two identical prefixes.
 *
 * @example
 * ```ts
 * // Both values cut to the 40 characters around where they part: '…aaa…ab"' and '…aaa…ac"'.
 * shortenDiffering([`"${'a'.repeat(500)}b"`, `"${'a'.repeat(500)}c"`], 40);
 * ```
 */
export function shortenDiffering(values: readonly string[], max = 160): string[] {
  const split = values.map((value) => value.split('\n'));
  const lines = Math.max(0, ...split.map((l) => l.length));
  for (let i = 0; i < lines; i++) {
    const row = split.map((l) => l[i]);
    const first = row.find((line) => line !== undefined) ?? '';
    let at = Number.POSITIVE_INFINITY;
    for (const line of row) {
      if (line === undefined || line === first) continue;
      let same = 0;
      while (same < line.length && same < first.length && line[same] === first[same]) same += 1;
      at = Math.min(at, same);
    }
    // Only when the lines part past what a plain cut keeps.
    const start = Number.isFinite(at) && at > max - 20 ? at - Math.floor(max / 3) : 0;
    split.forEach((l) => {
      const line = l[i];
      if (line === undefined) return;
      if (start === 0) {
        l[i] = shorten(line, max);
        return;
      }
      const end = start + max - 2;
      l[i] = `…${line.slice(start, end)}${end < line.length ? '…' : ''}`;
    });
  }
  return split.map((l) => l.join('\n'));
}
