// `seam demo --inspect` serves the Stately inspector: a page, and a relay that feeds it every
// lifecycle event of every plugin instance. A `ws` client stands in for the page (same origin
// header, same protocol) while a real embedded plugin (a worker thread) starts, runs and fails.
import { once } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createRuntime, StartupFailed } from 'plugin-seam';
import type { Runtime } from 'plugin-seam';
import { InspectorBridgeError, startInspectorBridge } from '../../dist/cli/startInspectorBridge.js';
import type { InspectorBridge } from '../../dist/cli/startInspectorBridge.js';
import { fixture } from '../conformance/harness.js';

interface Received {
  readonly type: string;
  readonly sessionId: string;
  readonly name?: string;
  readonly snapshot?: { readonly value?: unknown; readonly context?: { readonly failure?: unknown } };
}

/** A page stand-in: records what the relay sends and waits (bounded) for what a test expects. */
class Page {
  readonly received: Received[] = [];
  #wake: (() => void) | undefined;
  closed = false;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.received.push(JSON.parse(data.toString()) as Received);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake?.();
    });
  }

  /** Connects as the page served at `bridge.url` does: same relay, same Origin header. */
  static async open(bridge: InspectorBridge): Promise<Page> {
    const socket = new WebSocket(bridge.wsUrl, { origin: new URL(bridge.url).origin });
    const page = new Page(socket);
    await once(socket, 'open');
    return page;
  }

  async until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`page: timed out waiting for ${what}; received ${this.received.length} events`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, Math.min(left, 250));
      });
    }
  }

  of(sessionId: string, type: string): Received[] {
    return this.received.filter((e) => e.sessionId === sessionId && e.type === type);
  }

  values(sessionId: string): string[] {
    return this.of(sessionId, '@xstate.snapshot').map((e) => JSON.stringify(e.snapshot?.value));
  }
}

function listening(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      resolve();
    });
  });
}

describe('inspector bridge', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function bridge(): Promise<InspectorBridge> {
    const b = await startInspectorBridge({ port: 0 });
    cleanup.push(() => b.close());
    return b;
  }

  it('streams an embedded plugin to the page: registered, starting → started → running, then a failure', async () => {
    const b = await bridge();
    expect(b.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(new URL(b.url).port).not.toBe('0');
    const page = await Page.open(b);
    cleanup.push(() => {
      page.socket.terminate();
    });
    const runtime: Runtime = createRuntime({ inspect: b.inspect });
    cleanup.push(() => runtime.shutdown());

    const p = runtime.load({ id: 'watched', module: fixture('behaviour'), mode: 'embedded', restart: { policy: 'never' } });
    await p.start();
    await p.run();
    await expect(p.send({ op: 'echo', value: 1 })).resolves.toBe(1);
    const id = p.actor.sessionId;
    await page.until('the running snapshot', () => page.values(id).includes('{"generation":{"up":"running"}}'));
    expect(page.of(id, '@xstate.actor')).toHaveLength(1);
    expect(page.values(id)).toEqual(
      expect.arrayContaining(['{"generation":"starting"}', '{"generation":{"up":"started"}}', '{"generation":{"up":"running"}}']),
    );
    // The generation actor (the worker's adapter) is registered too, as a child.
    expect(page.received.some((e) => e.type === '@xstate.actor' && e.sessionId !== id)).toBe(true);

    // A plugin whose start throws, in a worker too: the page sees `failed` with the failure.
    const bad = runtime.load({ id: 'broken', module: fixture('behaviour'), mode: 'embedded', config: { start: 'throw' }, restart: { policy: 'never' } });
    await expect(bad.start()).rejects.toBeInstanceOf(StartupFailed);
    const badId = bad.actor.sessionId;
    const failedSnapshot = (): Received | undefined =>
      page.of(badId, '@xstate.snapshot').find((e) => JSON.stringify(e.snapshot?.value).includes('failed'));
    await page.until('the failed snapshot', () => failedSnapshot() !== undefined);
    expect(failedSnapshot()?.snapshot?.context?.failure).toMatchObject({ class: 'startup', cause: 'threw', generation: 1 });
    expect(JSON.stringify(failedSnapshot()?.snapshot?.context?.failure)).toContain('start exploded');
  });

  it('replays every actor registration to a page that connects late', async () => {
    const b = await bridge();
    const runtime: Runtime = createRuntime({ inspect: b.inspect });
    cleanup.push(() => runtime.shutdown());
    const p = runtime.load({ id: 'early', module: fixture('behaviour'), mode: 'inline' });
    await p.start();
    await p.run();
    const page = await Page.open(b);
    cleanup.push(() => {
      page.socket.terminate();
    });
    const id = p.actor.sessionId;
    await page.until('the replayed running snapshot', () => page.values(id).includes('{"generation":{"up":"running"}}'));
    expect(page.of(id, '@xstate.actor')).toHaveLength(1);
    // Registration first, so the inspector knows the actor before its snapshots.
    expect(page.received.findIndex((e) => e.sessionId === id)).toBe(page.received.findIndex((e) => e.sessionId === id && e.type === '@xstate.actor'));
  });

  it('relays what one client sends to the others (an inspector in another process)', async () => {
    const b = await bridge();
    const page = await Page.open(b);
    const other = new WebSocket(b.wsUrl);
    cleanup.push(() => {
      page.socket.terminate();
      other.terminate();
    });
    await once(other, 'open');
    other.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:1', name: 'remote' }));
    await page.until('the relayed event', () => page.received.some((e) => e.sessionId === 'x:1'));
    expect(page.received).toEqual([expect.objectContaining({ type: '@xstate.actor', sessionId: 'x:1', name: 'remote' })]);
  });

  it('serves the page, and refuses WebSocket clients from other web sites', async () => {
    const b = await bridge();
    const response = await fetch(b.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('https://stately.ai/inspect');
    expect(html).toContain("new WebSocket('ws://' + location.host)");
    expect((await fetch(new URL('/nothing', b.url))).status).toBe(404);

    const foreign = new WebSocket(b.wsUrl, { origin: 'https://example.com' });
    const [request, refused] = (await once(foreign, 'unexpected-response')) as [ClientRequest, IncomingMessage];
    expect(refused.statusCode).toBe(403);
    request.destroy();
  });

  it('close() ends connected pages and frees the port; it is idempotent', async () => {
    const b = await startInspectorBridge();
    const page = await Page.open(b);
    const { port } = new URL(b.url);
    await Promise.all([b.close(), b.close()]);
    await page.until('the page to be closed', () => page.closed);
    const again = createServer();
    await listening(again, Number(port));
    await new Promise<void>((resolve) => again.close(() => {
      resolve();
    }));
    await expect(fetch(b.url)).rejects.toThrow();
  });

  it('reports a port that is in use as a named error instead of crashing', async () => {
    const blocker = createServer();
    await listening(blocker, 0);
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          blocker.close(() => {
            resolve();
          });
        }),
    );
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    const failure = await startInspectorBridge({ port: address.port }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InspectorBridgeError);
    expect(failure).toMatchObject({ code: 'ERR_INSPECTOR_LISTEN', message: expect.stringContaining('in use') as unknown });
    await expect(startInspectorBridge({ port: 70_000 })).rejects.toMatchObject({ code: 'ERR_INSPECTOR_PORT' });
  });
});
