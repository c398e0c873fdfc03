// PluginRunner.startNow/finishNow, the guest loop's way in: the plugin is called before it
// returns when nothing is ahead, and through the serial chain otherwise — the contract's order
// and payload lifetime stay the same either way; a callback that returned a primitive is
// finished by the caller a turn of the microtask queue later, without a promise. Driven
// directly, with a definition object, the way GuestSession's loop drives it (runNow).
import { describe, expect, it } from 'vitest';
import type { Delivery, DeliveryResult } from '../../../src/adapters/Adapter.js';
import { PluginRunner, RAN_SYNC } from '../../../src/adapters/guest/PluginRunner.js';
import { FrameExpired } from '../../../src/errors.js';
import type { PluginDefinition } from '../../../src/plugin/types.js';

const frame = (seq: number): Delivery => ({
  kind: 'frame',
  seq,
  meta: { width: 1, height: 1, format: 'gray', timestamp: seq },
  data: new Uint8Array([seq]),
});

function runner(definition: Omit<PluginDefinition, 'name'>, output: (channel: string, value: unknown, inputSeq: number | undefined) => void = () => undefined): PluginRunner {
  const noop = (): void => undefined;
  return new PluginRunner({ name: 'runner-test', ...definition }, { generation: 1, config: undefined, sink: { output, log: noop } });
}

/** One turn of the microtask queue, as the guest loop waits between startNow and finishNow. */
const microtaskTurn = (): Promise<void> => Promise.resolve();

/** What GuestSession's loop does with an input: startNow, and for RAN_SYNC one turn, then finishNow. */
async function runNow(r: PluginRunner, input: Delivery): Promise<DeliveryResult> {
  const started = r.startNow(input);
  if (started !== RAN_SYNC) return started;
  await microtaskTurn();
  return r.finishNow();
}

describe('PluginRunner.startNow, as the guest loop runs it', () => {
  it('calls the plugin before returning when nothing is ahead of the input', async () => {
    const events: string[] = [];
    const r = runner({
      onFrame(f) {
        events.push(`frame ${f.seq}`);
      },
    });
    const pending = runNow(r, frame(1));
    expect(events).toEqual(['frame 1']);
    await expect(pending).resolves.toEqual({ ok: true });
  });

  it('waits behind a call still running, in order', async () => {
    const events: string[] = [];
    let release: () => void = () => undefined;
    const r = runner({
      async start() {
        events.push('start');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        events.push('started');
      },
      onFrame(f) {
        events.push(`frame ${f.seq}`);
      },
    });
    const started = r.start();
    const first = runNow(r, frame(1));
    const second = runNow(r, frame(2));
    expect(events).toEqual([]);
    await Promise.resolve();
    expect(events).toEqual(['start']);
    release();
    await Promise.all([started, first, second]);
    expect(events).toEqual(['start', 'started', 'frame 1', 'frame 2']);
    // Idle again: the next one goes straight in.
    void runNow(r, frame(3));
    expect(events.at(-1)).toBe('frame 3');
  });

  it('lets microtasks a synchronous onFrame queued read the frame before it expires', async () => {
    const seen: string[] = [];
    const r = runner({
      onFrame(f) {
        queueMicrotask(() => {
          seen.push(`byte ${f.data[0] ?? -1}`);
        });
      },
    });
    await expect(runNow(r, frame(7))).resolves.toEqual({ ok: true });
    expect(seen).toEqual(['byte 7']);
  });

  it('turns a synchronous throw and a rejection into failed results, and returns message values', async () => {
    const boom = new Error('boom');
    const r = runner({
      onFrame() {
        throw boom;
      },
      onMessage(message) {
        if (message === 'reject') return Promise.reject(boom);
        return { echo: message };
      },
    });
    await expect(runNow(r, frame(1))).resolves.toEqual({ ok: false, error: boom });
    await expect(runNow(r, { kind: 'message', seq: 2, message: 'reject' })).resolves.toEqual({ ok: false, error: boom });
    await expect(runNow(r, { kind: 'message', seq: 3, message: 'hi' })).resolves.toEqual({ ok: true, value: { echo: 'hi' } });
  });

  it('expires the frame once an asynchronous onFrame settles', async () => {
    let kept: { readonly data: Uint8Array } | undefined;
    const r = runner({
      async onFrame(f) {
        kept = f;
        await Promise.resolve();
        expect(f.data[0]).toBe(4);
      },
    });
    await expect(runNow(r, frame(4))).resolves.toEqual({ ok: true });
    expect(() => kept?.data).toThrow(FrameExpired);
  });
});

describe('PluginRunner.startNow / finishNow', () => {
  it('returns RAN_SYNC for a primitive reply; microtasks the callback queued run before finishNow, counted to the input', async () => {
    const outputs: [unknown, number | undefined][] = [];
    const r = runner(
      {
        onMessage(message, ctx) {
          queueMicrotask(() => {
            ctx.emit('late', message);
          });
          return `echo ${String(message)}`;
        },
      },
      (_channel, value, inputSeq) => outputs.push([value, inputSeq]),
    );
    expect(r.startNow({ kind: 'message', seq: 5, message: 'a' })).toBe(RAN_SYNC);
    expect(outputs).toEqual([]);
    await microtaskTurn();
    expect(outputs).toEqual([['a', 5]]);
    expect(r.finishNow()).toEqual({ ok: true, value: 'echo a' });
    // Settled: the next input goes straight in again.
    expect(r.startNow({ kind: 'message', seq: 6, message: 'b' })).toBe(RAN_SYNC);
    expect(r.finishNow()).toEqual({ ok: true, value: 'echo b' });
  });

  it('keeps a synchronous frame valid until finishNow, expired after', async () => {
    let kept: { readonly data: Uint8Array } | undefined;
    const r = runner({
      onFrame(f) {
        kept = f;
      },
    });
    expect(r.startNow(frame(9))).toBe(RAN_SYNC);
    await microtaskTurn();
    expect(kept?.data[0]).toBe(9);
    expect(r.finishNow()).toEqual({ ok: true });
    expect(() => kept?.data).toThrow(FrameExpired);
  });

  it("awaits an object reply, reading its `then` once", async () => {
    let reads = 0;
    const reply = {
      get then(): undefined {
        reads += 1;
        return undefined;
      },
    };
    const r = runner({ onMessage: () => reply });
    const started = r.startNow({ kind: 'message', seq: 1, message: 'x' });
    expect(started).not.toBe(RAN_SYNC);
    await expect(started).resolves.toEqual({ ok: true, value: reply });
    expect(reads).toBe(1);
  });

  it('settles a synchronous throw as a failed result, with the frame expired at once', async () => {
    const boom = new Error('boom');
    let kept: { readonly data: Uint8Array } | undefined;
    const r = runner({
      onFrame(f) {
        kept = f;
        throw boom;
      },
    });
    const started = r.startNow(frame(2));
    expect(started).not.toBe(RAN_SYNC);
    expect(() => kept?.data).toThrow(FrameExpired);
    await expect(started).resolves.toEqual({ ok: false, error: boom });
  });

  it('holds a call made meanwhile (a stop, another input) until finishNow', async () => {
    const events: string[] = [];
    const r = runner({
      onMessage(message) {
        events.push(`message ${String(message)}`);
        return 1;
      },
      stop() {
        events.push('stop');
      },
    });
    expect(r.startNow({ kind: 'message', seq: 1, message: 'a' })).toBe(RAN_SYNC);
    const second = r.startNow({ kind: 'message', seq: 2, message: 'b' });
    expect(second).not.toBe(RAN_SYNC);
    const stopped = r.stop();
    for (let i = 0; i < 10; i++) await microtaskTurn();
    expect(events).toEqual(['message a']);
    expect(r.finishNow()).toEqual({ ok: true, value: 1 });
    await expect(second).resolves.toEqual({ ok: true, value: 1 });
    await stopped;
    expect(events).toEqual(['message a', 'message b', 'stop']);
  });

  it('refuses finishNow with nothing to finish', () => {
    expect(() => runner({}).finishNow()).toThrow(/no input ran synchronously/);
  });
});
