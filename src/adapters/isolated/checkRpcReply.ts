/**
 * The envelope of a Comlink message an isolated child may send on the control pipe. The
 * host only calls (Comlink `wrap`), the guest only answers (Comlink `expose`), so the one
 * thing a child may send is a reply: `{ id, type: 'RAW', value }`, or
 * `{ id, type: 'HANDLER', name: 'throw', value }` for a call that threw. Comlink itself
 * ignores anything else without a word — an `id` of NaN, a `type` outside its enum, a
 * number instead of an object (RELIABILITY D6) — so the host checks the envelope first and
 * treats any other shape as a protocol violation. (The value inside was already walked by
 * the pipe's validator: plain data, no forbidden keys.)
 */

/** Longest Comlink call id accepted (Comlink 4 sends four hex numbers joined by dashes, ~60 characters). */
export const RPC_ID_MAX_LENGTH = 128;

/** What a valid reply names: the id of the call it answers. */
export type RpcReplyCheck = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly detail: string };

/**
 * Checks one `rpc.data` from a child. Never throws.
 *
 * @example
 * ```ts
 * checkRpcReply({ id: 'a-b-c-d', type: 'RAW', value: 1 }); // { ok: true, id: 'a-b-c-d' }
 * checkRpcReply({ id: Number.NaN, type: 'RAW', value: 1 }); // { ok: false, detail: 'rpc.data.id is NaN, not a string' }
 * ```
 */
export function checkRpcReply(data: unknown): RpcReplyCheck {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail(`rpc.data is ${describe(data)}, not a reply object`);
  const reply = data as Record<string, unknown>;
  const { id, type } = reply;
  if (typeof id !== 'string') return fail(`rpc.data.id is ${describe(id)}, not a string`);
  if (id.length === 0 || id.length > RPC_ID_MAX_LENGTH) return fail(`rpc.data.id has ${id.length} characters, not 1 to ${RPC_ID_MAX_LENGTH}`);
  const keys = Object.keys(reply);
  if (type === 'RAW') {
    if (keys.length !== 3 || !Object.hasOwn(reply, 'value')) return fail(`a RAW reply has the keys id, type, value, not ${keys.join(', ')}`);
    return { ok: true, id };
  }
  if (type === 'HANDLER') {
    if (reply.name !== 'throw') return fail(`a HANDLER reply must name the throw handler, not ${describe(reply.name)}`);
    if (keys.length !== 4 || !Object.hasOwn(reply, 'value')) return fail(`a HANDLER reply has the keys id, type, name, value, not ${keys.join(', ')}`);
    // What Comlink's throw handler reads back: `{ isError, value }`, an error's fields in an
    // object when isError. Anything else made it throw a TypeError of its own on the host.
    const thrown = reply.value;
    if (typeof thrown !== 'object' || thrown === null || Array.isArray(thrown)) return fail(`a HANDLER reply's value is ${describe(thrown)}, not an object`);
    const { isError, value } = thrown as Record<string, unknown>;
    if (typeof isError !== 'boolean') return fail(`a HANDLER reply's isError is ${describe(isError)}, not a boolean`);
    if (isError && (typeof value !== 'object' || value === null)) return fail(`a HANDLER reply's error is ${describe(value)}, not an object`);
    return { ok: true, id };
  }
  return fail(`rpc.data.type is ${describe(type)}, not RAW or HANDLER`);
}

function fail(detail: string): RpcReplyCheck {
  return { ok: false, detail };
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
    default:
      return `a ${typeof value}`;
  }
}
