/**
 * The queue of `acquire()` calls waiting for a pooled frame buffer, shared by every frame
 * pool: first come, first served, each abandonable through its AbortSignal, all rejected
 * when the pool closes.
 */
export class BufferWaiters {
  readonly #waiters: { readonly byteLength: number; readonly resolve: (view: Uint8Array) => void; readonly reject: (error: Error) => void }[] = [];

  /** Waits until `serve` hands this call a buffer of `byteLength` bytes. */
  wait(byteLength: number, signal?: AbortSignal): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const waiter = { byteLength, resolve, reject };
      this.#waiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) {
            this.#waiters.splice(at, 1);
            reject(signal.reason instanceof Error ? signal.reason : new Error('acquire aborted', { cause: signal.reason }));
          }
        },
        { once: true },
      );
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
      waiter.resolve(view);
    }
  }

  /** Rejects every waiter. */
  rejectAll(reason: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
  }
}
