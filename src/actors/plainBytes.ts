import { Buffer } from 'node:buffer';
import { types } from 'node:util';

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

function intrinsicGetter(name: 'buffer' | 'byteOffset' | 'byteLength'): (this: Uint8Array) => unknown {
  const descriptor = Object.getOwnPropertyDescriptor(TypedArrayPrototype, name);
  const getter: unknown = descriptor === undefined ? undefined : Reflect.get(descriptor, 'get');
  if (typeof getter !== 'function') throw new Error(`%TypedArray%.prototype.${name} has no getter`);
  return getter as (this: Uint8Array) => unknown;
}

const bufferOf = intrinsicGetter('buffer');
const byteOffsetOf = intrinsicGetter('byteOffset');
const byteLengthOf = intrinsicGetter('byteLength');

/**
 * `data` itself when it is a plain `Uint8Array` or `Buffer`; otherwise (a subclass, which may
 * override `length`, `byteOffset` or `buffer` with getters that lie) a plain `Uint8Array` over
 * the same bytes, read through the built-in getters. Undefined, for the caller to refuse, when
 * `data` is not a Uint8Array (a Proxy of one included).
 *
 * Why: the runtime sized and copied a frame by its `length`; a subclass answering 8 for 2,000
 * bytes made the copy throw out of the frame source's subscriber (the host process ended), and
 * one answering 2,000 for 8 handed the plugin bytes of an earlier frame.
 *
 * @example
 * ```ts
 * const data = plainBytes(frame.data); // what the frame really holds
 * ```
 */
export function plainBytes(data: unknown): unknown {
  // A Proxy passes `instanceof` and fails the built-in getters and the addon's copy: refused
  // (as undefined) with everything else that is not really a Uint8Array.
  if (!types.isUint8Array(data)) return undefined;
  const prototype: unknown = Object.getPrototypeOf(data);
  if (prototype === Uint8Array.prototype || prototype === Buffer.prototype) return data;
  return new Uint8Array(bufferOf.call(data) as ArrayBufferLike, byteOffsetOf.call(data) as number, byteLengthOf.call(data) as number);
}
