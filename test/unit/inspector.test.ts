// The Stately inspector sees every plugin instance: a real WebSocket inspector
// (@statelyai/inspect's createWebSocketInspector) connected to a local receiver.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createRuntime } from 'plugin-seam';
import type { Runtime } from 'plugin-seam';
import { fixture } from '../conformance/harness.js';

interface Received {
  readonly type: string;
  readonly sessionId: string;
  readonly snapshot?: { readonly value?: unknown };
  readonly event?: { readonly type?: string };
}

describe('Stately inspector', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('receives the plugin actor and its state changes over WebSocket', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        }),
    );
    const received: Received[] = [];
    let wake: (() => void) | undefined;
    server.on('connection', (socket) => {
      socket.on('message', (data: Buffer) => {
        received.push(JSON.parse(data.toString()) as Received);
        wake?.();
      });
    });
    const { port } = server.address() as AddressInfo;
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
    cleanup.push(() => {
      inspector.stop();
    });
    const runtime: Runtime = createRuntime({ inspect: inspector.inspect });
    cleanup.push(() => runtime.shutdown());
    const p = runtime.load({ id: 'watched', module: fixture('behaviour'), mode: 'inline', restart: { policy: 'never' } });
    await p.start();
    await p.run();
    await p.send({ op: 'echo', value: 1 });

    // Handshake: wait (bounded) until the snapshot of state `running` has arrived.
    const hasRunning = (): boolean =>
      received.some((e) => e.type === '@xstate.snapshot' && e.sessionId === p.actor.sessionId && JSON.stringify(e.snapshot?.value).includes('running'));
    const deadline = Date.now() + 5_000;
    while (!hasRunning() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    const actorEvents = received.filter((e) => e.type === '@xstate.actor' && e.sessionId === p.actor.sessionId);
    expect(actorEvents).toHaveLength(1);
    const values = received
      .filter((e) => e.type === '@xstate.snapshot' && e.sessionId === p.actor.sessionId)
      .map((e) => JSON.stringify(e.snapshot?.value));
    expect(values).toEqual(expect.arrayContaining(['{"generation":"starting"}', '{"generation":{"up":"started"}}', '{"generation":{"up":"running"}}']));
    const events = received.filter((e) => e.type === '@xstate.event' && e.sessionId === p.actor.sessionId).map((e) => e.event?.type);
    expect(events).toEqual(expect.arrayContaining(['start', 'gen.ready', 'run']));
    // The generation actor (the adapter) is inspected too, as a child of the plugin actor.
    expect(received.some((e) => e.type === '@xstate.actor' && e.sessionId !== p.actor.sessionId)).toBe(true);
  });

  it('goes on when the observer throws: the lifecycle completes, one warning says so', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    cleanup.push(() => {
      process.off('warning', onWarning);
    });
    let calls = 0;
    const runtime = createRuntime({
      inspect: {
        next() {
          calls += 1;
          throw new Error('inspector socket closed');
        },
      },
    });
    cleanup.push(() => runtime.shutdown());
    for (const mode of ['inline', 'embedded'] as const) {
      const p = runtime.load({ id: `thrown-at-${mode}`, module: fixture('behaviour'), mode });
      await p.start();
      await p.run();
      expect(await p.send({ op: 'echo', value: mode })).toBe(mode);
      await p.pause();
      expect(p.status.state).toBe('started');
      await p.stop();
      expect(p.status.state).toBe('stopped');
    }
    expect(calls).toBeGreaterThan(10);
    // Emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'PLUGIN_SEAM_INSPECT_THREW');
    expect(ours.map((w) => w.message)).toEqual(['the inspect observer threw (its errors are ignored; the runtime goes on): Error: inspector socket closed']);
  });

  it('refuses an observer whose next is not a function when the runtime is created', () => {
    expect(() => createRuntime({ inspect: { next: 5 } as never })).toThrow(/inspect\.next must be a function, got number/);
  });
});
