import v8 from 'node:v8';

/** Node's host-object view types, by the index its `DefaultSerializer` writes (lib/v8.js). */
const VIEW_TYPES: readonly { readonly bytesPerElement: number; readonly make: (buffer: ArrayBuffer) => ArrayBufferView }[] = [
  { bytesPerElement: 1, make: (b) => new Int8Array(b) },
  { bytesPerElement: 1, make: (b) => new Uint8Array(b) },
  { bytesPerElement: 1, make: (b) => new Uint8ClampedArray(b) },
  { bytesPerElement: 2, make: (b) => new Int16Array(b) },
  { bytesPerElement: 2, make: (b) => new Uint16Array(b) },
  { bytesPerElement: 4, make: (b) => new Int32Array(b) },
  { bytesPerElement: 4, make: (b) => new Uint32Array(b) },
  { bytesPerElement: 4, make: (b) => new Float32Array(b) },
  { bytesPerElement: 8, make: (b) => new Float64Array(b) },
  { bytesPerElement: 1, make: (b) => new DataView(b) },
  { bytesPerElement: 1, make: (b) => Buffer.from(b) },
  { bytesPerElement: 8, make: (b) => new BigInt64Array(b) },
  { bytesPerElement: 8, make: (b) => new BigUint64Array(b) },
];

/**
 * `v8.DefaultDeserializer` with typed arrays, DataViews and Buffers (Node's "host objects")
 * rebuilt over a fresh ArrayBuffer of exactly their own size.
 *
 * Why: Node's default `_readHostObject` returns, for an aligned view, a view into the
 * *payload's* ArrayBuffer, and for an unaligned one a view into Buffer's shared 8 KiB pool.
 * A payload read from a pipe into a reused buffer then hands out views whose bytes change
 * with the next read (a plugin's kept `Uint8Array`, its `ctx.config` arrays), and whose
 * `.buffer` exposes the neighbouring traffic. An unknown view type index, or a byte length
 * that is not a multiple of the element size, throws (Node would throw a TypeError or
 * silently truncate).
 *
 * @example
 * ```ts
 * const d = new OwnBytesDeserializer(payload);
 * d.readHeader();
 * const value = d.readValue(); // shares no memory with payload
 * ```
 */
export class OwnBytesDeserializer extends v8.Deserializer {
  /** Called by the native deserializer for each host object tag. */
  _readHostObject(): ArrayBufferView {
    const typeIndex = this.readUint32();
    const type = VIEW_TYPES[typeIndex];
    if (type === undefined) throw new Error(`host object of unknown view type ${typeIndex}`);
    const byteLength = this.readUint32();
    if (byteLength % type.bytesPerElement !== 0) {
      throw new Error(`host object of view type ${typeIndex}: ${byteLength} bytes is not a multiple of ${type.bytesPerElement}`);
    }
    // Bounds-checked against the payload by the native reader before anything is allocated.
    const bytes = this.readRawBytes(byteLength);
    const own = new ArrayBuffer(byteLength);
    new Uint8Array(own).set(bytes);
    return type.make(own);
  }
}

/**
 * `v8.deserialize(payload)`, except that nothing in the result shares memory with `payload`
 * (see {@link OwnBytesDeserializer}).
 *
 * @example
 * ```ts
 * const message = deserializeOwnBytes(readBuffer.subarray(0, n));
 * ```
 */
export function deserializeOwnBytes(payload: Uint8Array): unknown {
  const deserializer = new OwnBytesDeserializer(payload);
  deserializer.readHeader();
  return deserializer.readValue();
}
