// PluginRunner.handleNow, the guest loop's way in: the plugin is called before it returns
// when nothing is ahead, and through the serial chain otherwise — the contract's order and
// payload lifetime stay the same either way. Driven directly, with a definition object.
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../../src/adapters/Adapter.js';
import { PluginRunner } from '../../../src/adapters/guest/PluginRunner.js';
import { FrameExpired } from '../../../src/errors.js';
import type { PluginDefinition } from '../../../src/plugin/types.js';

const frame = (seq: number): Delivery => ({
  kind: 'frame',
  seq,
  meta: { width: 1, height: 1, format: 'gray', timestamp: seq },
  data: new Uint8Array([seq]),
});

function runner(definition: Omit<PluginDefinition, 'name'>): PluginRunner {
  const noop = (): void => undefined;
  return new PluginRunner({ name: 'runner-test', ...definition }, { generation: 1, config: undefined, sink: { output: noop, log: noop } });
}

describe('PluginRunner.handleNow', () => {
  it('calls the plugin before returning when nothing is ahead of the input', async () => {
    const events: string[] = [];
    const r = runner({
      onFrame(f) {
        events.push(`frame ${f.seq}`);
      },
    });
    const pending = r.handleNow(frame(1));
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
    const first = r.handleNow(frame(1));
    const second = r.handleNow(frame(2));
    expect(events).toEqual([]);
    await Promise.resolve();
    expect(events).toEqual(['start']);
    release();
    await Promise.all([started, first, second]);
    expect(events).toEqual(['start', 'started', 'frame 1', 'frame 2']);
    // Idle again: the next one goes straight in.
    void r.handleNow(frame(3));
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
    await expect(r.handleNow(frame(7))).resolves.toEqual({ ok: true });
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
    await expect(r.handleNow(frame(1))).resolves.toEqual({ ok: false, error: boom });
    await expect(r.handleNow({ kind: 'message', seq: 2, message: 'reject' })).resolves.toEqual({ ok: false, error: boom });
    await expect(r.handleNow({ kind: 'message', seq: 3, message: 'hi' })).resolves.toEqual({ ok: true, value: { echo: 'hi' } });
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
    await expect(r.handleNow(frame(4))).resolves.toEqual({ ok: true });
    expect(() => kept?.data).toThrow(FrameExpired);
  });
});
