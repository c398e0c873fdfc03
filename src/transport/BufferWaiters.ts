/**
 * The queue of `acquire()` calls waiting for a pooled frame buffer, shared by every frame
 * pool: first come, first served, each abandonable through its AbortSignal, all rejected
 * when the pool closes.
 */
export class BufferWaiters {
  readonly #waiters: {
    readonly byteLength: number;
    readonly resolve: (view: Uint8Array) => void;
    readonly reject: (error: Error) => void;
    /** Removes the waiter's abort listener: a long-lived signal must not collect one per call. */
    readonly done: () => void;
  }[] = [];

  /**
   * Waits until `serve` hands this call a buffer of `byteLength` bytes. Rejects at once for a
   * signal already aborted (its `abort` event has fired, and would never fire again).
   */
  wait(byteLength: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) {
          this.#waiters.splice(at, 1);
          reject(abortReason(signal));
        }
      };
      const waiter = {
        byteLength,
        resolve,
        reject,
        done: () => {
          signal?.removeEventListener('abort', onAbort);
        },
      };
      // Listening first: a signal that cannot be listened to (not an AbortSignal) leaves no
      // waiter behind, whose removal would throw later, in whichever call serves it.
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Hands buffers from `take` to waiters, in order, while it has some. */
  serve(take: (byteLength: number) => Uint8Array | undefined): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0];
      if (waiter === undefined) return;
      const view = take(waiter.byteLength);
      if (view === undefined) return;
      this.#waiters.shift();
      waiter.done();
      waiter.resolve(view);
    }
  }

  /** Rejects every waiter. */
  rejectAll(reason: Error): void {
    for (const waiter of this.#waiters.splice(0)) {
      waiter.done();
      waiter.reject(reason);
    }
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('acquire aborted', { cause: reason });
}
