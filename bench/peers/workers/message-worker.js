// @ts-check
/**
 * worker_threads peer: raw postMessage over the worker's parent port.
 *   { id, payload }         -> replies id            (small round trip)
 *   { id, buf }             -> touches buf, replies id   (structured clone)
 *   { id, buf, back: true } -> touches buf, transfers it back as { id, buf }
 */
import { parentPort } from 'node:worker_threads';
import { touch } from './touch.js';

const port = parentPort;
if (!port) throw new Error('message-worker must run in a worker thread');

port.on('message', (/** @type {{ id: number, buf?: Uint8Array, back?: boolean }} */ m) => {
  if (m.buf === undefined) {
    port.postMessage(m.id);
  } else if (m.back === true) {
    touch(m.buf);
    port.postMessage({ id: m.id, buf: m.buf }, [/** @type {ArrayBuffer} */ (m.buf.buffer)]);
  } else {
    touch(m.buf);
    port.postMessage(m.id);
  }
});
port.postMessage('ready');
