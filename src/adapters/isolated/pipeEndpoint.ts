import type { Endpoint } from 'comlink';

/** A Comlink endpoint carried by our own pipe messages, and the way to feed it. */
export interface PipeEndpoint {
  readonly endpoint: Endpoint;
  /** Hands a received `rpc` payload to Comlink's listeners. */
  dispatch(data: unknown): void;
}

/**
 * Comlink over the isolated control pipe: Comlink only needs `postMessage` and message
 * listeners, so its messages ride in `{ t: 'rpc', data }` frames that the host validates
 * like any other input from the child.
 */
/** Comlink's listeners: a function, or an object with `handleEvent` (the DOM shape). */
type Listener = ((event: { data: unknown }) => void) | { handleEvent(event: { data: unknown }): void };

export function pipeEndpoint(send: (data: unknown) => void): PipeEndpoint {
  const listeners = new Set<Listener>();
  const endpoint: Endpoint = {
    postMessage(message: unknown) {
      send(message);
    },
    addEventListener(type: string, listener: unknown) {
      if (type === 'message') listeners.add(listener as Listener);
    },
    removeEventListener(type: string, listener: unknown) {
      if (type === 'message') listeners.delete(listener as Listener);
    },
  };
  return {
    endpoint,
    dispatch(data: unknown) {
      const event = { data };
      for (const listener of [...listeners]) {
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      }
    },
  };
}
