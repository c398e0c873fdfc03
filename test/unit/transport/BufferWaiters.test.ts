import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BufferWaiters } from '../../../src/transport/BufferWaiters.js';

describe('BufferWaiters', () => {
  it('rejects at once for a signal already aborted, and never serves it later', async () => {
    const waiters = new BufferWaiters();
    const reason = new Error('gave up before asking');
    const waited = waiters.wait(4, AbortSignal.abort(reason));
    await expect(waited).rejects.toBe(reason);
    let taken = 0;
    waiters.serve(() => {
      taken += 1;
      return new Uint8Array(4);
    });
    expect(taken).toBe(0);
  });

  it('leaves no abort listener on a long-lived signal once a waiter is served or rejected', async () => {
    const waiters = new BufferWaiters();
    const controller = new AbortController();
    const served = Array.from({ length: 20 }, () => waiters.wait(4, controller.signal));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(20);
    waiters.serve(() => new Uint8Array(4));
    await Promise.all(served);
    const rejected = waiters.wait(4, controller.signal).catch((e: unknown) => e);
    waiters.rejectAll(new Error('closed'));
    expect(await rejected).toMatchObject({ message: 'closed' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // Aborting now reaches no one, and throws nothing.
    controller.abort();
  });

  it('rejects a waiting call with the abort reason, and serves the next one', async () => {
    const waiters = new BufferWaiters();
    const controller = new AbortController();
    const first = waiters.wait(4, controller.signal);
    const second = waiters.wait(8);
    controller.abort(new Error('changed my mind'));
    await expect(first).rejects.toThrow('changed my mind');
    waiters.serve((n) => new Uint8Array(n));
    expect((await second).length).toBe(8);
  });

  it('leaves no waiter for a signal that cannot be listened to: serving later throws nothing', async () => {
    const waiters = new BufferWaiters();
    const bad = waiters.wait(4, { aborted: false } as unknown as AbortSignal);
    await expect(bad).rejects.toBeInstanceOf(TypeError);
    const next = waiters.wait(4);
    expect(() => {
      waiters.serve((n) => new Uint8Array(n));
    }).not.toThrow();
    expect((await next).length).toBe(4);
  });
});
