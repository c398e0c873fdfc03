import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type * as StatelyInspect from '@statelyai/inspect';
import type * as Ws from 'ws';
import type { InspectionEvent, Observer } from 'xstate';
import { messageOf } from '../errors.js';

/** Options of {@link startInspectorBridge}. */
export interface InspectorBridgeOptions {
  /** TCP port on 127.0.0.1; 0 or absent picks a free one. */
  readonly port?: number | undefined;
  /** Open the inspector page in the default browser once listening. Default `false`. */
  readonly autoOpen?: boolean | undefined;
}

/** A running inspector bridge: a local page showing the Stately inspector, fed live. */
export interface InspectorBridge {
  /** The page to open in a browser: it embeds the Stately inspector and receives every event. */
  readonly url: string;
  /**
   * The WebSocket relay. Every message a client sends reaches every other client, so an
   * inspector in another process (`createWebSocketInspector({ url: wsUrl })`) can feed the
   * same page.
   */
  readonly wsUrl: string;
  /** The observer to pass as `createRuntime({ inspect })`. */
  readonly inspect: Observer<InspectionEvent>;
  /**
   * Stops the inspector, says goodbye to every connected page, closes the server, and
   * resolves once the port is free. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Why the bridge could not start; `code` says which step failed.
 *
 * @example
 * ```ts
 * try {
 *   await startInspectorBridge({ port: 8080 });
 * } catch (error) {
 *   if (error instanceof InspectorBridgeError && error.code === 'ERR_INSPECTOR_LISTEN') console.error(error.message);
 * }
 * ```
 */
export class InspectorBridgeError extends Error {
  override readonly name = 'InspectorBridgeError';

  constructor(
    /** `ERR_INSPECTOR_UNAVAILABLE` (the optional peer dependency is missing), `ERR_INSPECTOR_PORT` (a bad port) or `ERR_INSPECTOR_LISTEN`. */
    readonly code: 'ERR_INSPECTOR_UNAVAILABLE' | 'ERR_INSPECTOR_PORT' | 'ERR_INSPECTOR_LISTEN',
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The Stately inspector UI the page embeds (the same one `@statelyai/inspect/server` uses). */
const INSPECTOR_UI = 'https://stately.ai/inspect';
/** Events replayed to a page that connects late, besides every actor registration. */
const REPLAY_TAIL = 200;
/** Actor registrations kept for late pages (each generation of each instance is one). */
const REPLAY_ACTORS = 1_000;
/** Nesting kept when an event is serialised; deeper values are elided. */
const MAX_DEPTH = 12;
/** How long a page may take to answer our close frame before its socket is cut. */
const GOODBYE_MS = 1_000;
/**
 * Bounds on what a local client can make the host hold: any process on this machine may
 * connect (only browsers send an Origin to check). One message at most 1 MiB (inspection
 * events are small; the runtime's own never cross a socket), the replay at most 8 MiB, and a
 * page that stops reading is cut once 8 MiB wait in its send buffer.
 */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const REPLAY_MAX_BYTES = 8 * 1024 * 1024;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * Starts the Stately inspector bridge on 127.0.0.1: an HTTP page that embeds the Stately
 * inspector, a WebSocket relay feeding it, and an inspection observer for
 * `createRuntime({ inspect })` that publishes straight into that relay.
 *
 * It speaks the protocol of `@statelyai/inspect/server` (a page, a relay where each message
 * reaches every other client, a replay for pages that connect late) but does not use that
 * server, because it cannot: report the port it picked for port 0, let a caller catch a port
 * that is already in use (that crashes the process), stay on the loopback interface, refuse
 * WebSocket connections from other web sites, or close connected pages (one open browser tab
 * kept the process alive). The replay keeps every actor registration plus the last 200
 * events, so a page opened late still knows every instance.
 *
 * `@statelyai/inspect` is an optional peer dependency: it is imported only here, and a
 * missing package is an {@link InspectorBridgeError} (`ERR_INSPECTOR_UNAVAILABLE`) that says
 * how to install it. It never opens a browser unless `autoOpen` is set; the page itself loads
 * the inspector UI from stately.ai, so viewing needs network access.
 *
 * @example
 * ```ts
 * const bridge = await startInspectorBridge({ port: 0 });
 * console.log(`inspector: ${bridge.url}`);
 * const runtime = createRuntime({ inspect: bridge.inspect });
 * // … load, start, run …
 * await runtime.shutdown();
 * await bridge.close();
 * ```
 */
export async function startInspectorBridge(options: InspectorBridgeOptions = {}): Promise<InspectorBridge> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InspectorBridgeError('ERR_INSPECTOR_PORT', `inspector port must be an integer in 0..65535, got ${String(port)}`);
  }
  const { createInspector, WebSocketServer } = await loadInspectorModules();

  const server = createServer();
  const replay = new Replay();
  let closing: Promise<void> | undefined;
  // Filled in once listening: the origins a page of ours is served from.
  let ownOrigins = new Set<string>();

  const wss = new WebSocketServer({
    server,
    maxPayload: MAX_MESSAGE_BYTES,
    // A WebSocket is not bound by the same-origin policy: without this check any web site
    // open in the browser could read every event (configs included) from localhost.
    verifyClient: ({ origin }: { origin: string | undefined }, answer: (ok: boolean, code?: number, message?: string) => void) => {
      if (origin === undefined || origin === '' || ownOrigins.has(origin)) answer(true);
      else answer(false, 403, 'Forbidden: not the inspector page');
    },
  });
  wss.on('connection', (socket) => {
    if (closing !== undefined) {
      socket.terminate();
      return;
    }
    // A client that breaks the protocol (or sends more than maxPayload) loses its connection;
    // without a listener, ws would throw its error into the host.
    socket.on('error', () => {
      socket.terminate();
    });
    for (const text of replay.messages()) socket.send(text);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = rawToString(data);
      replay.record(text, isActorRegistration(text));
      broadcast(wss, text, socket);
    });
  });
  // ws re-emits the HTTP server's errors here; listen() reports the one that matters (the
  // port), and without a listener an error event would be thrown into the host.
  wss.on('error', () => undefined);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    servePage(request, response);
  });

  try {
    await listen(server, port);
  } catch (error) {
    wss.close();
    const reason = (error as { code?: unknown }).code === 'EADDRINUSE' ? 'the port is in use' : messageOf(error);
    throw new InspectorBridgeError('ERR_INSPECTOR_LISTEN', `cannot listen on 127.0.0.1:${port} (${reason}); pick another port, or 0 for a free one`, {
      cause: error,
    });
  }
  const bound = (server.address() as AddressInfo).port;
  ownOrigins = new Set([`http://127.0.0.1:${bound}`, `http://localhost:${bound}`]);

  let stopped = false;
  const inspector = createInspector({
    send(event) {
      if (stopped) return;
      const text = safeStringify(event);
      replay.record(text, event.type === '@xstate.actor');
      broadcast(wss, text, undefined);
    },
  });

  const url = `http://127.0.0.1:${bound}/`;
  if (options.autoOpen === true) openBrowser(url);

  return {
    url,
    wsUrl: `ws://127.0.0.1:${bound}`,
    inspect: inspector.inspect,
    close() {
      closing ??= (async () => {
        // @statelyai/inspect converts each event on a later macrotask: let those already
        // scheduled reach the pages, so the last state of a run is shown.
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        stopped = true;
        inspector.stop();
        await sayGoodbye(wss);
        await new Promise<void>((resolve) => {
          wss.close(() => {
            resolve();
          });
        });
        server.closeAllConnections();
        await new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
      })();
      return closing;
    },
  };
}

interface InspectorModules {
  readonly createInspector: typeof StatelyInspect.createInspector;
  readonly WebSocketServer: typeof Ws.WebSocketServer;
}

/**
 * Imports the optional peer dependency, and `ws` as `@statelyai/inspect` itself resolves it
 * (it is that package's dependency, so installing the one package is all a user does).
 */
async function loadInspectorModules(): Promise<InspectorModules> {
  try {
    const inspect = await import('@statelyai/inspect');
    const inspectEntry = createRequire(import.meta.url).resolve('@statelyai/inspect');
    const ws = createRequire(inspectEntry)('ws') as typeof Ws;
    return { createInspector: inspect.createInspector, WebSocketServer: ws.WebSocketServer };
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' || (error as { code?: unknown }).code === 'MODULE_NOT_FOUND';
    throw new InspectorBridgeError(
      'ERR_INSPECTOR_UNAVAILABLE',
      missing
        ? 'the inspector needs the optional peer dependency @statelyai/inspect, which is not installed: run `npm install --save-dev @statelyai/inspect`'
        : `cannot load @statelyai/inspect: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

function listen(server: ReturnType<typeof createServer>, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error);
    };
    server.once('error', onError);
    server.listen({ host: '127.0.0.1', port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Sends `text` to every open client but `except` (the relay rule of `@statelyai/inspect/server`). */
function broadcast(wss: Ws.WebSocketServer, text: string, except: Ws.WebSocket | undefined): void {
  for (const client of wss.clients) {
    if (client === except || client.readyState !== client.OPEN) continue;
    if (client.bufferedAmount > MAX_BUFFERED_BYTES) client.terminate();
    else client.send(text);
  }
}

/** Closes every page politely (so it sees a clean close), cutting those that do not answer in time. */
async function sayGoodbye(wss: Ws.WebSocketServer): Promise<void> {
  const clients = [...wss.clients];
  if (clients.length === 0) return;
  const timer = setTimeout(() => {
    for (const client of clients) client.terminate();
  }, GOODBYE_MS);
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          if (client.readyState === client.CLOSED) {
            resolve();
            return;
          }
          client.once('close', () => {
            resolve();
          });
          client.close(1001, 'inspector closed');
        }),
    ),
  );
  clearTimeout(timer);
}

/** What a page that connects late receives first: every actor registration, then the recent events. */
class Replay {
  readonly #actors: string[] = [];
  readonly #tail: string[] = [];
  #bytes = 0;

  record(text: string, actorRegistration: boolean): void {
    const list = actorRegistration ? this.#actors : this.#tail;
    list.push(text);
    this.#bytes += text.length;
    if (list.length > (actorRegistration ? REPLAY_ACTORS : REPLAY_TAIL)) this.#bytes -= list.shift()?.length ?? 0;
    // Over the byte budget, the oldest events go first, then the oldest registrations.
    while (this.#bytes > REPLAY_MAX_BYTES) {
      const dropped = this.#tail.shift() ?? this.#actors.shift();
      if (dropped === undefined) break;
      this.#bytes -= dropped.length;
    }
  }

  messages(): readonly string[] {
    return [...this.#actors, ...this.#tail];
  }
}

function isActorRegistration(text: string): boolean {
  try {
    return (JSON.parse(text) as { type?: unknown } | null)?.type === '@xstate.actor';
  } catch {
    return false;
  }
}

function rawToString(data: Ws.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function servePage(request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (request.url !== '/' && request.url !== '/index.html') {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  response.end(request.method === 'HEAD' ? undefined : PAGE);
}

/**
 * The page: the Stately inspector in an iframe, fed from our relay. Events that arrive before
 * the inspector says it is connected are held and handed over then. The relay address comes
 * from the page's own location, so it is right whatever port was picked.
 */
const PAGE = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>plugin-seam: Stately inspector</title>
  <style>
    * { margin: 0; padding: 0; }
    html, body { height: 100%; }
    iframe { width: 100%; height: 100%; border: none; }
  </style>
</head>
<body>
  <iframe id="inspector" src="${INSPECTOR_UI}"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const held = [];
    let connected = false;
    // Only the inspector's own frame may say it is ready. Events are posted to it with '*',
    // as @statelyai/inspect itself does: the UI's final origin (after any redirect) is
    // stately.ai's to choose, and a stricter target would silently show nothing.
    const target = '*';
    window.addEventListener('message', (e) => {
      if (e.source !== iframe.contentWindow) return;
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        for (const event of held) iframe.contentWindow.postMessage(event, target);
        held.length = 0;
      }
    });
    const ws = new WebSocket('ws://' + location.host);
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (connected) iframe.contentWindow.postMessage(event, target);
      else held.push(event);
    };
  </script>
</body>
</html>
`;

/**
 * JSON of one inspection event, whatever it holds: cycles, functions, bigints, errors and
 * binary buffers (a frame's bytes must not become a megabyte of JSON) are replaced by short
 * descriptions, and nesting is cut at {@link MAX_DEPTH}.
 */
function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  const depths = new WeakMap<object, number>();
  return JSON.stringify(value, function replacer(this: unknown, _key: string, item: unknown): unknown {
    if (typeof item === 'bigint') return item.toString();
    if (typeof item === 'function') return { type: item.name };
    if (typeof item !== 'object' || item === null) return item;
    if (ArrayBuffer.isView(item)) return `[${item.constructor.name} ${item.byteLength} bytes]`;
    if (item instanceof ArrayBuffer || item instanceof SharedArrayBuffer) return `[${item.constructor.name} ${item.byteLength} bytes]`;
    // Seen before: a cycle, or a value shared by two branches (written out once).
    if (seen.has(item)) return '[seen]';
    const depth = (typeof this === 'object' && this !== null ? (depths.get(this) ?? 0) : 0) + 1;
    if (depth > MAX_DEPTH) return '[…]';
    seen.add(item);
    if (item instanceof Error) {
      const described = { name: item.name, message: item.message, ...(item as unknown as Record<string, unknown>) };
      depths.set(described, depth);
      return described;
    }
    depths.set(item, depth);
    return item;
  });
}

/** Opens `url` in the default browser, best effort: failing to open one is not an error of the bridge. */
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  const child = execFile(command, args, () => undefined);
  child.unref();
}
