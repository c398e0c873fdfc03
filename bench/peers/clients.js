// @ts-check
/**
 * Host side of every peer baseline. Each opener starts its worker/child,
 * waits (bounded) until it is ready and returns a small client object; every
 * client's close() ends its worker/child/socket so the process can exit.
 */
import { fork, spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { unlink } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { releaseProxy, wrap } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Piscina } from 'piscina';
import { bounded } from '../lib/drive.js';
import { SabRing } from './sab-ring.js';

const START_TIMEOUT_MS = 10000;
const CLOSE_TIMEOUT_MS = 5000;
const worker = (/** @type {string} */ f) => new URL(`./workers/${f}`, import.meta.url);
const MESSAGE_WORKER = worker('message-worker.js');
const COMLINK_WORKER = worker('comlink-worker.js');
const PISCINA_TASK = worker('piscina-task.js');
const FORK_CHILD = fileURLToPath(worker('fork-child.js'));
const UDS_CHILD = fileURLToPath(worker('uds-child.js'));

/** The small request payload every message-based peer carries (64 bytes). */
export const PAYLOAD = 'p'.repeat(64);
const PAYLOAD_BYTES = Buffer.from(PAYLOAD);

/** Round-trip/pipelined peers, in table order. */
export const PEERS = /** @type {const} */ ([
  'sab-atomics',
  'postmessage',
  'comlink',
  'piscina',
  'fork-json',
  'fork-advanced',
  'uds',
]);
/** @typedef {(typeof PEERS)[number]} PeerName */

/** Frame hand-off cases, in table order ('memcpy' is a synchronous loop, no peer). */
export const FRAME_CASES = /** @type {const} */ ([
  'memcpy',
  'sab-copy',
  'sab-inplace',
  'pm-clone',
  'pm-transfer',
  'fork-advanced',
  'uds',
]);
/** @typedef {(typeof FRAME_CASES)[number]} FrameCase */

/**
 * A request/response endpoint under test. Our own adapters can be wrapped in
 * this shape and handed to measureRoundTrip / measurePipelined.
 * @typedef {object} PeerClient
 * @property {string} name
 * @property {(seq: number) => Promise<unknown>} call one small request -> reply
 * @property {number} [maxInFlight] hard limit on outstanding calls, if any
 * @property {() => Promise<void>} close
 */

/**
 * A frame consumer: send(seq) hands one frame over and resolves when the
 * consumer has read it (and, for rings/pools, released the buffer).
 * @typedef {object} FrameSink
 * @property {string} name
 * @property {(seq: number) => Promise<unknown>} send
 * @property {number} [maxInFlight]
 * @property {() => Promise<void>} close
 */

/** id -> resolver table for message-based peers; rejects all on failure. */
class Pending {
  /** @type {Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>} */
  map = new Map();
  /** @type {Error | null} */
  failed = null;

  /** @param {number} id */
  add(id) {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.map.set(id, { resolve, reject });
    });
  }

  /** @param {number} id @param {unknown} value */
  settle(id, value) {
    const p = this.map.get(id);
    if (p) {
      this.map.delete(id);
      p.resolve(value);
    }
  }

  /** @param {Error} err */
  fail(err) {
    if (this.failed) return;
    this.failed = err;
    for (const p of this.map.values()) p.reject(err);
    this.map.clear();
  }
}

/**
 * Wait for the first 'message' (the peer's "ready"), bounded.
 * @param {import('node:events').EventEmitter} emitter
 * @param {string} label
 */
function firstMessage(emitter, label) {
  return bounded(
    new Promise((resolve, reject) => {
      emitter.once('message', resolve);
      emitter.once('error', reject);
      emitter.once('exit', (code) => {
        reject(new Error(`${label} exited early (${String(code)})`));
      });
    }),
    START_TIMEOUT_MS,
    `${label} start`,
  );
}

/** @param {Worker} w */
async function stopWorker(w) {
  await bounded(w.terminate(), CLOSE_TIMEOUT_MS, 'worker terminate');
}

/**
 * Disconnect (or end) a child and wait for it to exit; SIGKILL after 5 s.
 * @param {import('node:child_process').ChildProcess} child
 */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.connected) child.disconnect();
  try {
    await bounded(exited, CLOSE_TIMEOUT_MS, 'child exit');
  } catch {
    child.kill('SIGKILL');
    await bounded(exited, CLOSE_TIMEOUT_MS, 'child kill');
  }
}

/** @param {Pending} pending @param {import('node:events').EventEmitter} emitter @param {string} label */
function failOnDeath(pending, emitter, label) {
  emitter.on('error', (/** @type {Error} */ err) => {
    pending.fail(err);
  });
  emitter.on('exit', () => {
    pending.fail(new Error(`${label} exited`));
  });
}

// ---------------------------------------------------------------- peers --

async function openSabAtomics() {
  const ring = await SabRing.open({ slots: 64, slotBytes: 0, mode: 'echo' });
  return {
    name: 'sab-atomics',
    maxInFlight: 64,
    call: (/** @type {number} */ seq) => ring.submit(seq),
    close: () => ring.close(),
  };
}

async function openPostMessage() {
  const w = new Worker(MESSAGE_WORKER);
  await firstMessage(w, 'message worker');
  const pending = new Pending();
  w.on('message', (/** @type {number} */ id) => {
    pending.settle(id, id);
  });
  failOnDeath(pending, w, 'message worker');
  return {
    name: 'postmessage',
    /** @param {number} seq */
    call(seq) {
      const p = pending.add(seq);
      w.postMessage({ id: seq, payload: PAYLOAD });
      return p;
    },
    close: () => stopWorker(w),
  };
}

async function openComlink() {
  const w = new Worker(COMLINK_WORKER);
  /** @type {{ echo(id: number, payload: string): Promise<number>, [releaseProxy](): void }} */
  const api = /** @type {any} */ (wrap(nodeEndpoint(/** @type {any} */ (w))));
  await bounded(api.echo(-1, ''), START_TIMEOUT_MS, 'comlink worker start');
  return {
    name: 'comlink',
    call: (/** @type {number} */ seq) => api.echo(seq, PAYLOAD),
    async close() {
      api[releaseProxy]();
      await stopWorker(w);
    },
  };
}

async function openPiscina() {
  const pool = new Piscina({ filename: PISCINA_TASK.href, minThreads: 1, maxThreads: 1, idleTimeout: 60000 });
  await bounded(pool.run({ id: -1, payload: '' }), START_TIMEOUT_MS, 'piscina start');
  return {
    name: 'piscina',
    call: (/** @type {number} */ seq) => pool.run({ id: seq, payload: PAYLOAD }),
    close: () => bounded(pool.destroy(), CLOSE_TIMEOUT_MS, 'piscina destroy'),
  };
}

/** @param {'json' | 'advanced'} serialization */
async function startForkChild(serialization) {
  const child = fork(FORK_CHILD, [], { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await firstMessage(child, `fork child (${serialization})`);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pending = new Pending();
  child.on('message', (/** @type {number} */ id) => {
    pending.settle(id, id);
  });
  failOnDeath(pending, child, 'fork child');
  return { child, pending };
}

/** @param {'json' | 'advanced'} serialization */
async function openFork(serialization) {
  const { child, pending } = await startForkChild(serialization);
  return {
    name: `fork-${serialization}`,
    /** @param {number} seq */
    call(seq) {
      const p = pending.add(seq);
      child.send({ id: seq, payload: PAYLOAD });
      return p;
    },
    close: () => stopChild(child),
  };
}

let socketCounter = 0;

/**
 * Listen on a fresh Unix socket path, spawn the child, accept its connection.
 * Returns a corking writer (writes made in one tick go out as one writev) and
 * a pending table fed by the length-prefixed reply parser.
 */
async function startUds() {
  const path = join(tmpdir(), `plugin-seam-bench-${process.pid}-${socketCounter++}.sock`);
  await unlink(path).catch(() => undefined);
  const server = net.createServer();
  await bounded(
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        resolve(undefined);
      });
    }),
    START_TIMEOUT_MS,
    'uds listen',
  );
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  const child = spawn(process.execPath, [UDS_CHILD, path], { stdio: ['ignore', 'inherit', 'inherit'] });
  /** @type {net.Socket} */
  let sock;
  try {
    sock = /** @type {net.Socket} */ (await bounded(accepted, START_TIMEOUT_MS, 'uds accept'));
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    server.close();
    await unlink(path).catch(() => undefined);
  }
  sock.setNoDelay(true);
  const pending = new Pending();
  /** @type {Buffer} */
  let rest = Buffer.alloc(0);
  sock.on('data', (/** @type {Buffer} */ chunk) => {
    let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let p = 0;
    while (buf.length - p >= 4) {
      const len = buf.readUInt32LE(p);
      if (buf.length - p - 4 < len) break;
      const id = buf.readUInt32LE(p + 4);
      pending.settle(id, id);
      p += 4 + len;
    }
    buf = buf.subarray(p);
    rest = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  });
  sock.on('error', (err) => {
    pending.fail(err);
  });
  sock.on('close', () => {
    pending.fail(new Error('uds closed'));
  });
  let corked = false;
  const uncork = () => {
    corked = false;
    sock.uncork();
  };
  /** @param {Buffer | Uint8Array} b */
  const write = (b) => {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    sock.write(b);
  };
  const close = async () => {
    const exited =
      child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
    sock.end();
    try {
      await bounded(exited, CLOSE_TIMEOUT_MS, 'uds child exit');
    } catch {
      child.kill('SIGKILL');
    }
    sock.destroy();
  };
  return { write, pending, close };
}

async function openUds() {
  const { write, pending, close } = await startUds();
  return {
    name: 'uds',
    /** @param {number} seq */
    call(seq) {
      const p = pending.add(seq);
      const b = Buffer.allocUnsafe(8 + PAYLOAD_BYTES.length);
      b.writeUInt32LE(4 + PAYLOAD_BYTES.length, 0);
      b.writeUInt32LE(seq, 4);
      PAYLOAD_BYTES.copy(b, 8);
      write(b);
      return p;
    },
    close,
  };
}

/**
 * Start one peer by name.
 * @param {PeerName} name
 * @returns {Promise<PeerClient>}
 */
export async function openPeer(name) {
  switch (name) {
    case 'sab-atomics':
      return openSabAtomics();
    case 'postmessage':
      return openPostMessage();
    case 'comlink':
      return openComlink();
    case 'piscina':
      return openPiscina();
    case 'fork-json':
      return openFork('json');
    case 'fork-advanced':
      return openFork('advanced');
    case 'uds':
      return openUds();
    default:
      throw new Error(`unknown peer ${String(name)}`);
  }
}

// --------------------------------------------------------------- frames --

/**
 * A frame-sized source buffer with non-zero content (untouched zero pages
 * would make copies look cheaper than they are).
 * @param {number} frameBytes
 */
export function makeFrame(frameBytes) {
  const frame = Buffer.allocUnsafeSlow(frameBytes);
  frame.fill(0xa5);
  return frame;
}

/**
 * Start the consumer for one frame hand-off case (not 'memcpy').
 * @param {Exclude<FrameCase, 'memcpy'>} name
 * @param {number} frameBytes
 * @param {{ depth?: number }} [opts] depth = ring slots / buffers in flight (default 4)
 * @returns {Promise<FrameSink>}
 */
export async function openFrameSink(name, frameBytes, opts = {}) {
  const depth = opts.depth ?? 4;
  const frame = makeFrame(frameBytes);
  switch (name) {
    case 'sab-copy':
    case 'sab-inplace': {
      const ring = await SabRing.open({ slots: depth, slotBytes: frameBytes, mode: 'touch' });
      const copy = name === 'sab-copy';
      // In place: the slots hold real frame content from the start (written once, outside
      // the timing), as our adapters' slots do; never-written pages would read as the shared
      // zero page and make this floor look faster than any real hand-off.
      if (!copy) for (const view of ring.slotViews) view.set(frame);
      return {
        name,
        maxInFlight: depth,
        /** @param {number} seq */
        send(seq) {
          const slot = /** @type {Uint8Array} */ (ring.slotViews[ring.nextSlot]);
          if (copy) slot.set(frame);
          else slot[0] = seq & 255;
          return ring.submit(seq);
        },
        close: () => ring.close(),
      };
    }
    case 'pm-clone':
    case 'pm-transfer': {
      const w = new Worker(MESSAGE_WORKER);
      await firstMessage(w, 'message worker');
      const pending = new Pending();
      /** @type {Uint8Array[]} buffers owned by the host (transfer case) */
      const pool = [];
      w.on('message', (/** @type {number | { id: number, buf: Uint8Array }} */ m) => {
        if (typeof m === 'number') {
          pending.settle(m, m);
        } else {
          pool.push(m.buf);
          pending.settle(m.id, m.id);
        }
      });
      failOnDeath(pending, w, 'message worker');
      if (name === 'pm-clone') {
        return {
          name,
          /** @param {number} seq */
          send(seq) {
            const p = pending.add(seq);
            w.postMessage({ id: seq, buf: frame });
            return p;
          },
          close: () => stopWorker(w),
        };
      }
      for (let i = 0; i < depth; i++) pool.push(makeFrame(frameBytes));
      return {
        name,
        /** @param {number} seq */
        send(seq) {
          const buf = pool.pop() ?? makeFrame(frameBytes);
          buf[0] = seq & 255;
          const p = pending.add(seq);
          w.postMessage({ id: seq, buf, back: true }, [/** @type {ArrayBuffer} */ (buf.buffer)]);
          return p;
        },
        close: () => stopWorker(w),
      };
    }
    case 'fork-advanced': {
      const { child, pending } = await startForkChild('advanced');
      return {
        name,
        /** @param {number} seq */
        send(seq) {
          const p = pending.add(seq);
          child.send({ id: seq, buf: frame });
          return p;
        },
        close: () => stopChild(child),
      };
    }
    case 'uds': {
      const { write, pending, close } = await startUds();
      return {
        name,
        /** @param {number} seq */
        send(seq) {
          const p = pending.add(seq);
          const h = Buffer.allocUnsafe(8);
          h.writeUInt32LE(4 + frameBytes, 0);
          h.writeUInt32LE(seq, 4);
          write(h);
          write(frame);
          return p;
        },
        close,
      };
    }
    default:
      throw new Error(`unknown frame case ${String(name)}`);
  }
}
