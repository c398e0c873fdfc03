/**
 * Gathers the messages posted during one turn of the event loop and hands them over as one
 * (an array when there are several). A `postMessage` costs far more than a message, so under
 * load one post — and one wake-up of the other side — carries many. Order is kept; the
 * receiver applies an array element by element.
 */
export class MessageBatcher<T> {
  readonly #send: (messages: T | T[]) => void;
  #batch: T[] = [];

  constructor(send: (messages: T | T[]) => void) {
    this.#send = send;
  }

  /** Queues a message; the batch leaves at the end of the current microtask queue. */
  push(message: T): void {
    this.#batch.push(message);
    if (this.#batch.length === 1) {
      queueMicrotask(() => {
        this.flush();
      });
    }
  }

  /** Sends what is queued now. */
  flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#send(batch.length === 1 ? (batch[0] as T) : batch);
  }
}
