/**
 * The host's gate for everything an isolated child writes on its control pipe: one frame
 * payload in, either a {@link GuestPipeMessage} that is exactly what the protocol allows, or
 * a named violation (the host then kills the child: `lost`, cause `protocol`). Nothing here
 * throws, and every loop is bounded, whatever the bytes.
 */
import { OwnBytesDeserializer } from '../../transport/OwnBytesDeserializer.js';
import type { GuestPipeMessage } from '../protocol.js';
import { GUEST_CHANNEL_MAX_LENGTH, GUEST_ERROR_NAME_MAX_LENGTH, GUEST_LOG_MAX_LENGTH } from '../protocol.js';

/** Deepest nesting of containers accepted in a plugin value (the outermost counts as 1). */
export const GUEST_VALUE_MAX_DEPTH = 64;
/**
 * Most values (container entries, each reached reference counted once per time it is
 * reached) walked in one plugin value. An array or Map counts by its length or size upfront.
 */
export const GUEST_VALUE_MAX_NODES = 100_000;

/** Which rule a guest payload broke. */
export type GuestMessageViolationKind =
  /** Not one well-formed v8-serialized value (garbage, truncated, unknown host object, trailing bytes). */
  | 'decode'
  /** The message is not a plain object. */
  | 'not_object'
  /** `t` is not a string, or not one of the guest's message types. */
  | 'unknown_type'
  /** A field of the variant is absent. */
  | 'missing_field'
  /** An own key the variant does not have. */
  | 'extra_field'
  /** A field has the wrong JavaScript type. */
  | 'field_type'
  /** A field has the right type but a value outside its domain (range, length, enum). */
  | 'field_range'
  /** A plugin value nests deeper than {@link GUEST_VALUE_MAX_DEPTH}. */
  | 'value_depth'
  /** A plugin value contains itself (it would nest without end). */
  | 'value_cycle'
  /** A plugin value has more than {@link GUEST_VALUE_MAX_NODES} nodes. */
  | 'value_size'
  /** An own key `__proto__`, `constructor` or `prototype` somewhere in a plugin value. */
  | 'forbidden_key'
  /** A plugin value contains an object of a kind outside the allow-list. */
  | 'value_kind'
  /** The validator itself failed (a bug); the payload is refused all the same. */
  | 'internal';

/** A refused payload. `detail` is bounded in length and quotes hostile strings escaped. */
export interface GuestMessageViolation {
  readonly ok: false;
  readonly violation: GuestMessageViolationKind;
  readonly detail: string;
}

/** The outcome of {@link decodeGuestMessage}. */
export type DecodeGuestMessageResult = { readonly ok: true; readonly message: GuestPipeMessage } | GuestMessageViolation;

/**
 * Decodes and validates one control-pipe payload from an isolated child.
 *
 * Decoding is `v8.deserialize` — the same `Deserializer` and wire format — with one
 * deliberate difference: typed arrays, DataViews and Buffers (Node's "host objects") are
 * rebuilt over a fresh ArrayBuffer of exactly their own size. Node's default
 * `_readHostObject` returns, for an aligned view, a view into the *payload's* ArrayBuffer
 * (so `value.buffer` exposes the neighbouring bytes of the chunk), and for an unaligned one
 * a view into Buffer's shared 8 KiB allocation pool (unrelated host data, writable). An
 * unknown view type index or a byte length that is not a multiple of the element size is
 * refused (Node would throw a TypeError or silently truncate). Bytes left after the value
 * are refused too: a frame carries exactly one message.
 *
 * The decoded value is then checked by {@link validateGuestMessage}. Never throws.
 *
 * @param payload one frame payload (e.g. from `FrameDecoder`); not retained, not aliased by
 *   the result.
 */
export function decodeGuestMessage(payload: Uint8Array): DecodeGuestMessageResult {
  let value: unknown;
  try {
    const deserializer = new GuestDeserializer(payload);
    deserializer.readHeader();
    value = deserializer.readValue();
    const end = deserializer.position();
    if (end !== undefined && end !== payload.byteLength) {
      return violation('decode', `${payload.byteLength - end} trailing bytes after the message`);
    }
  } catch (error) {
    return violation('decode', `not a v8-serialized value: ${describeError(error)}`);
  }
  return validateGuestMessage(value);
}

/**
 * Validates a decoded value structurally against the {@link GuestPipeMessage} union: a known
 * `t`; exactly the variant's own keys; field types and ranges; and, for the values a plugin
 * chooses (`output.value`, `outcome.value`, `outcome.error`, `rpc.data`), a bounded
 * iterative walk (see {@link GUEST_VALUE_MAX_DEPTH}, {@link GUEST_VALUE_MAX_NODES}) that
 * allows only primitives, plain objects, arrays, Date, RegExp, Map, Set, ArrayBuffer, typed
 * arrays, DataView, Buffer and the built-in Error classes, and refuses any own key
 * `__proto__`, `constructor` or `prototype` (v8.deserialize creates those as own data
 * properties, which a later merge would turn into prototype pollution).
 *
 * Meant for values built by `v8.deserialize` or a structured clone: it relies on those only
 * creating enumerable, string-keyed own data properties on plain objects and arrays (no
 * accessors, no symbols, no proxies). Shared references are walked each time they are
 * reached, so a value is accepted only if it is also a bounded tree — what a naive recursive
 * consumer of the application can handle; a cycle is refused (`value_cycle`).
 *
 * On success the message returned is `value` itself. Never throws.
 */
export function validateGuestMessage(value: unknown): DecodeGuestMessageResult {
  try {
    if (typeof value !== 'object' || value === null) return violation('not_object', `the message is ${describeValue(value)}`);
    const proto: unknown = Object.getPrototypeOf(value);
    if (Array.isArray(value) || (proto !== Object.prototype && proto !== null)) {
      return violation('not_object', `the message is ${describeValue(value)}, not a plain object`);
    }
    const message = value as Record<string, unknown>;
    if (!Object.hasOwn(message, 't')) return violation('missing_field', 'no field t');
    const t = message.t;
    if (typeof t !== 'string') return violation('unknown_type', `t is ${describeValue(t)}, not a string`);
    const check = VARIANTS.get(t);
    if (check === undefined) return violation('unknown_type', `t ${quote(t)} is not a guest message type`);
    const failure = check(message);
    return failure ?? { ok: true, message: message as unknown as GuestPipeMessage };
  } catch (error) {
    return violation('internal', `validator failed: ${describeError(error)}`);
  }
}

// ---------------------------------------------------------------------------------------
// Deserialization

/** `_readRawBytes(0)` (Node-internal, used by its own DefaultDeserializer) returns the read offset. */
interface DeserializerInternals {
  _readRawBytes?: (length: number) => number;
}

/** {@link OwnBytesDeserializer} that can tell how far it read (see {@link decodeGuestMessage}). */
class GuestDeserializer extends OwnBytesDeserializer {
  /** Bytes read so far, or undefined if this Node does not expose it. */
  position(): number | undefined {
    const read = (this as DeserializerInternals)._readRawBytes;
    return typeof read === 'function' ? read.call(this, 0) : undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Variants

type Failure = GuestMessageViolation;
type Message = Record<string, unknown>;

type GuestType = GuestPipeMessage['t'];
type Variant<T extends GuestType> = Extract<GuestPipeMessage, { readonly t: T }>;

/**
 * The own keys of one variant, checked against protocol.ts at compile time: a key the
 * variant does not have, or a key of the variant left out, fails `tsc` here, so the
 * validator cannot drift from the union.
 */
function keysOf<M extends GuestPipeMessage>() {
  return <const K extends readonly (keyof M & string)[]>(...keys: K & ([keyof M] extends [K[number]] ? unknown : never)): readonly string[] => keys;
}

const HELLO_KEYS = keysOf<Variant<'hello'>>()('t', 'version');
const DOORBELL_KEYS = keysOf<Variant<'doorbell'>>()('t');
const HEARTBEAT_KEYS = keysOf<Variant<'heartbeat'>>()('t', 'externalMb', 'heapMb');
const RPC_KEYS = keysOf<Variant<'rpc'>>()('t', 'data');
// `inputSeq: number | undefined` is a required property: the key must be present, even when undefined.
const OUTPUT_KEYS = keysOf<Variant<'output'>>()('t', 'channel', 'value', 'inputSeq');
const LOG_KEYS = keysOf<Variant<'log'>>()('t', 'level', 'message');
const OUTCOME_OK_KEYS = keysOf<Extract<Variant<'outcome'>, { readonly ok: true }>>()('t', 'seq', 'ok', 'value');
// `errorName` and `errorCode` are required like `inputSeq`: present, possibly undefined.
const OUTCOME_ERROR_KEYS = keysOf<Extract<Variant<'outcome'>, { readonly ok: false }>>()('t', 'seq', 'ok', 'error', 'errorName', 'errorCode');

const LOG_LEVELS: ReadonlySet<unknown> = new Set<Variant<'log'>['level']>(['debug', 'info', 'warn', 'error']);

/**
 * One check per message type. Typed as a record over every `t` of the union, so a variant
 * added to (or removed from) protocol.ts fails `tsc` here until its validator is written.
 */
const CHECKS: { readonly [T in GuestType]: (message: Message) => Failure | undefined } = {
  hello: (m) => exactKeys(m, HELLO_KEYS) ?? counter(m, 'version'),
  doorbell: (m) => exactKeys(m, DOORBELL_KEYS),
  heartbeat: (m) => exactKeys(m, HEARTBEAT_KEYS) ?? counter(m, 'externalMb') ?? counter(m, 'heapMb'),
  rpc: (m) => exactKeys(m, RPC_KEYS) ?? walkValue(m.data, 'data'),
  output: (m) =>
    exactKeys(m, OUTPUT_KEYS) ??
    channel(m.channel) ??
    (m.inputSeq === undefined ? undefined : counter(m, 'inputSeq')) ??
    walkValue(m.value, 'value'),
  log: (m) => exactKeys(m, LOG_KEYS) ?? logLevel(m.level) ?? logMessage(m.message),
  outcome,
};

/** A Map, not the record: a hostile `t` such as "__proto__" or "toString" must find nothing. */
const VARIANTS: ReadonlyMap<string, (message: Message) => Failure | undefined> = new Map(Object.entries(CHECKS));

function outcome(m: Message): Failure | undefined {
  // `ok` picks the variant, so it is checked before the key set.
  if (!Object.hasOwn(m, 'ok')) return violation('missing_field', 'outcome: no field ok');
  const ok = m.ok;
  if (typeof ok !== 'boolean') return violation('field_type', `outcome.ok is ${describeValue(ok)}, not a boolean`);
  return (
    exactKeys(m, ok ? OUTCOME_OK_KEYS : OUTCOME_ERROR_KEYS) ??
    counter(m, 'seq') ??
    (ok ? walkValue(m.value, 'value') : (errorName(m.errorName) ?? errorCode(m.errorCode) ?? walkValue(m.error, 'error')))
  );
}

/** Every key of `expected` is an own key of `m`, and `m` has no other. */
function exactKeys(m: Message, expected: readonly string[]): Failure | undefined {
  for (const key of expected) {
    if (!Object.hasOwn(m, key)) return violation('missing_field', `${String(m.t)}: no field ${key}`);
  }
  // Own keys of a deserialized object are all enumerable strings, so Object.keys sees them all.
  const keys = Object.keys(m);
  if (keys.length !== expected.length) {
    const extra = keys.find((key) => !expected.includes(key));
    return violation('extra_field', `${String(m.t)}: unexpected field ${quote(extra ?? '?')}`);
  }
  return undefined;
}

/** A non-negative safe integer: sequence numbers, versions, counts. */
function counter(m: Message, field: string): Failure | undefined {
  const value = m[field];
  if (typeof value !== 'number') return violation('field_type', `${String(m.t)}.${field} is ${describeValue(value)}, not a number`);
  if (!Number.isSafeInteger(value) || value < 0) {
    return violation('field_range', `${String(m.t)}.${field} is ${describeValue(value)}, not a non-negative safe integer`);
  }
  return undefined;
}

function channel(value: unknown): Failure | undefined {
  if (typeof value !== 'string') return violation('field_type', `output.channel is ${describeValue(value)}, not a string`);
  if (value.length === 0 || value.length > GUEST_CHANNEL_MAX_LENGTH) {
    return violation('field_range', `output.channel has ${value.length} characters, not 1 to ${GUEST_CHANNEL_MAX_LENGTH}`);
  }
  return undefined;
}

function logLevel(value: unknown): Failure | undefined {
  if (typeof value !== 'string') return violation('field_type', `log.level is ${describeValue(value)}, not a string`);
  if (!LOG_LEVELS.has(value)) return violation('field_range', `log.level ${quote(value)} is not debug, info, warn or error`);
  return undefined;
}

function errorName(value: unknown): Failure | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return violation('field_type', `outcome.errorName is ${describeValue(value)}, not a string`);
  if (value.length > GUEST_ERROR_NAME_MAX_LENGTH) {
    return violation('field_range', `outcome.errorName has ${value.length} characters, above ${GUEST_ERROR_NAME_MAX_LENGTH}`);
  }
  return undefined;
}

function errorCode(value: unknown): Failure | undefined {
  if (value === undefined || Number.isSafeInteger(value)) return undefined;
  if (typeof value !== 'string') return violation('field_type', `outcome.errorCode is ${describeValue(value)}, not a string or a safe integer`);
  if (value.length > GUEST_ERROR_NAME_MAX_LENGTH) {
    return violation('field_range', `outcome.errorCode has ${value.length} characters, above ${GUEST_ERROR_NAME_MAX_LENGTH}`);
  }
  return undefined;
}

function logMessage(value: unknown): Failure | undefined {
  if (typeof value !== 'string') return violation('field_type', `log.message is ${describeValue(value)}, not a string`);
  if (value.length > GUEST_LOG_MAX_LENGTH) {
    return violation('field_range', `log.message has ${value.length} characters, above ${GUEST_LOG_MAX_LENGTH}`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// The value walker

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Own keys a deserialized Error can have (V8 writes message, stack and cause only). */
const ERROR_KEYS: ReadonlySet<string> = new Set(['message', 'stack', 'cause']);

const ERROR_PROTOTYPES: ReadonlySet<unknown> = new Set<unknown>([
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
]);

/** Prototypes of the leaf kinds (no children to walk). */
const LEAF_PROTOTYPES: ReadonlySet<unknown> = new Set<unknown>([
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  Int8Array.prototype,
  Uint8Array.prototype,
  Uint8ClampedArray.prototype,
  Int16Array.prototype,
  Uint16Array.prototype,
  Int32Array.prototype,
  Uint32Array.prototype,
  Float32Array.prototype,
  Float64Array.prototype,
  BigInt64Array.prototype,
  BigUint64Array.prototype,
  DataView.prototype,
  Buffer.prototype,
]);

/** How an entry hangs from its parent, for the path in a violation's detail. */
type Edge = 'property' | 'mapKey' | 'mapValue' | 'setItem' | 'cause';

/** A container reached by the walk. Kept until the end so a failure can name its path. */
interface Entry {
  readonly value: object;
  /** Containers from the root to this one, inclusive (the root container is 1). */
  readonly depth: number;
  /** Index of the parent entry, -1 for the root. */
  readonly parent: number;
  readonly edge: Edge;
  /** Property name, or position for Map/Set edges. */
  readonly key: string | number;
}

/**
 * Walks a plugin value depth-first with an explicit stack (hostile nesting cannot overflow
 * the call stack), counting every value reached. Returns the first failure, or undefined.
 */
function walkValue(root: unknown, rootName: string): Failure | undefined {
  if (!isObjectLike(root)) return primitive(root, rootName);
  const entries: Entry[] = [{ value: root, depth: 1, parent: -1, edge: 'property', key: rootName }];
  const stack: number[] = [0];
  let nodes = 1;

  const fail = (kind: GuestMessageViolationKind, at: number, edge: Edge | undefined, key: string | number, what: string): Failure =>
    violation(kind, `${pathOf(entries, at, edge, key)}: ${what}`);

  // Adds one child of entry `at`: counts it, checks a primitive at once, queues a container.
  const visit = (child: unknown, at: number, depth: number, edge: Edge, key: string | number): Failure | undefined => {
    nodes += 1;
    if (nodes > GUEST_VALUE_MAX_NODES) return fail('value_size', at, edge, key, `more than ${GUEST_VALUE_MAX_NODES} nodes`);
    if (!isObjectLike(child)) {
      const kind = typeof child;
      // v8.deserialize cannot produce either; a structured clone cannot either. Belt and braces.
      return kind === 'symbol' || kind === 'function' ? fail('value_kind', at, edge, key, `a ${kind} is not an allowed kind`) : undefined;
    }
    if (depth + 1 > GUEST_VALUE_MAX_DEPTH) {
      for (let up = at; up !== -1; up = entries[up]?.parent ?? -1) {
        if (entries[up]?.value === child) return fail('value_cycle', at, edge, key, 'the value contains itself');
      }
      return fail('value_depth', at, edge, key, `nesting deeper than ${GUEST_VALUE_MAX_DEPTH}`);
    }
    stack.push(entries.length);
    entries.push({ value: child, depth: depth + 1, parent: at, edge, key });
    return undefined;
  };

  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    const entry = entries[at];
    if (entry === undefined) break;
    const { value, depth } = entry;
    const proto: unknown = Object.getPrototypeOf(value);

    if (Array.isArray(value) || proto === Object.prototype || proto === null) {
      if (Array.isArray(value) && proto !== Array.prototype) return fail('value_kind', at, undefined, '', 'an array with a foreign prototype');
      // An array's length counts upfront: a sparse array of length 2^32 - 1 is a few bytes.
      const size = Array.isArray(value) ? value.length : 0;
      if (nodes + size > GUEST_VALUE_MAX_NODES) {
        return fail('value_size', at, undefined, '', `an array of length ${size} exceeds the budget of ${GUEST_VALUE_MAX_NODES} nodes`);
      }
      // Object.keys sees every own key of a deserialized array or object (see validateGuestMessage),
      // including named properties V8 serializes on arrays.
      const keys = Object.keys(value);
      if (nodes + keys.length > GUEST_VALUE_MAX_NODES) {
        return fail('value_size', at, undefined, '', `${keys.length} keys exceed the budget of ${GUEST_VALUE_MAX_NODES} nodes`);
      }
      // Object.keys lists indices ascending, then named keys: `size` keys ending in index
      // size - 1 means every index is present and nothing else is, so read by integer index
      // (faster than by string key). Anything else (holes, named properties) takes the general path.
      if (size > 0 && keys.length === size && keys[size - 1] === String(size - 1)) {
        const array = value as unknown[];
        for (let index = 0; index < size; index++) {
          const failure = visit(array[index], at, depth, 'property', index);
          if (failure !== undefined) return failure;
        }
        continue;
      }
      const record = value as Record<string, unknown>;
      for (const key of keys) {
        if (FORBIDDEN_KEYS.has(key)) return fail('forbidden_key', at, undefined, '', `own key ${quote(key)} is forbidden`);
        const failure = visit(record[key], at, depth, 'property', key);
        if (failure !== undefined) return failure;
      }
    } else if (LEAF_PROTOTYPES.has(proto)) {
      // Date, RegExp, ArrayBuffer, views: no children. (A prototype match is enough: only
      // the deserializer built these objects, and it sets no own properties on them.)
    } else if (proto === Map.prototype) {
      const map = value as Map<unknown, unknown>;
      if (nodes + 2 * map.size > GUEST_VALUE_MAX_NODES) {
        return fail('value_size', at, undefined, '', `a Map of ${map.size} entries exceeds the budget of ${GUEST_VALUE_MAX_NODES} nodes`);
      }
      let index = 0;
      for (const [key, item] of map) {
        const failure = visit(key, at, depth, 'mapKey', index) ?? visit(item, at, depth, 'mapValue', index);
        if (failure !== undefined) return failure;
        index += 1;
      }
    } else if (proto === Set.prototype) {
      const set = value as Set<unknown>;
      if (nodes + set.size > GUEST_VALUE_MAX_NODES) {
        return fail('value_size', at, undefined, '', `a Set of ${set.size} items exceeds the budget of ${GUEST_VALUE_MAX_NODES} nodes`);
      }
      let index = 0;
      for (const item of set) {
        const failure = visit(item, at, depth, 'setItem', index);
        if (failure !== undefined) return failure;
        index += 1;
      }
    } else if (ERROR_PROTOTYPES.has(proto)) {
      const error = value as Error;
      if (Object.getOwnPropertySymbols(error).length > 0) return fail('value_kind', at, undefined, '', 'an Error with symbol keys');
      for (const key of Object.getOwnPropertyNames(error)) {
        if (!ERROR_KEYS.has(key)) return fail('value_kind', at, 'property', key, `an Error with own key ${quote(key)}`);
      }
      if (typeof error.name !== 'string' || typeof error.message !== 'string') {
        return fail('value_kind', at, undefined, '', 'an Error whose name or message is not a string');
      }
      // Undefined is what V8 makes of an Error with no stack at all (`delete error.stack`).
      if (Object.hasOwn(error, 'stack') && typeof error.stack !== 'string' && error.stack !== undefined) {
        return fail('value_kind', at, 'property', 'stack', 'an Error stack that is neither a string nor undefined');
      }
      if (Object.hasOwn(error, 'cause')) {
        const failure = visit(error.cause, at, depth, 'cause', 'cause');
        if (failure !== undefined) return failure;
      }
    } else {
      return fail('value_kind', at, undefined, '', `${describeValue(value)} is not an allowed kind`);
    }
  }
  return undefined;
}

/** Objects are walked; functions and symbols are primitives here, refused by {@link primitive}. */
function isObjectLike(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function primitive(value: unknown, path: string): Failure | undefined {
  const kind = typeof value;
  return kind === 'symbol' || kind === 'function' ? violation('value_kind', `${path}: a ${kind} is not an allowed kind`) : undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const INDEX = /^(?:0|[1-9]\d*)$/;
/** Path segments kept at each end of a long path in a detail. */
const PATH_HEAD = 4;
const PATH_TAIL = 6;

/** `data.items[3].name`, `value{map value 2}`…; long paths are elided in the middle. */
function pathOf(entries: readonly Entry[], at: number, edge: Edge | undefined, key: string | number): string {
  const segments: string[] = [];
  if (edge !== undefined) segments.push(segment(edge, key));
  let rootName = '';
  for (let index = at; index !== -1; ) {
    const entry = entries[index];
    if (entry === undefined) break;
    if (entry.parent === -1) rootName = String(entry.key);
    else segments.push(segment(entry.edge, entry.key));
    index = entry.parent;
  }
  segments.reverse();
  if (segments.length > PATH_HEAD + PATH_TAIL) {
    const elided = segments.length - PATH_HEAD - PATH_TAIL;
    segments.splice(PATH_HEAD, elided, `…(${elided} more)…`);
  }
  return rootName + segments.join('');
}

function segment(edge: Edge, key: string | number): string {
  switch (edge) {
    case 'property': {
      const name = String(key);
      if (INDEX.test(name)) return `[${name}]`;
      return IDENTIFIER.test(name) && name.length <= 64 ? `.${name}` : `[${quote(name)}]`;
    }
    case 'mapKey':
      return `{map key ${key}}`;
    case 'mapValue':
      return `{map value ${key}}`;
    case 'setItem':
      return `{set item ${key}}`;
    case 'cause':
      return '.cause';
  }
}

// ---------------------------------------------------------------------------------------
// Details: short, escaped, never the hostile value itself in full.

function violation(kind: GuestMessageViolationKind, detail: string): Failure {
  return { ok: false, violation: kind, detail };
}

/** A hostile string, JSON-escaped (no raw newlines in a log line) and cut to 64 characters. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'string':
      return `the string ${quote(value)}`;
    case 'bigint':
      return 'a bigint';
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      // The tag of a built-in, e.g. "Number" for a boxed number; a prototype we do not know
      // may carry a hostile Symbol.toStringTag getter, so the lookup is guarded by the caller's try.
      const tag = Object.prototype.toString.call(value).slice(8, -1);
      return `an object of kind ${tag.length > 32 ? `${tag.slice(0, 32)}…` : tag}`;
    }
  }
}

function describeError(error: unknown): string {
  try {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return 'an unprintable error';
  }
}
