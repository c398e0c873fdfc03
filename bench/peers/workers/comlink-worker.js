// @ts-check
/** Comlink peer: exposes { echo(id, payload) } over the worker's parent port. */
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

if (!parentPort) throw new Error('comlink-worker must run in a worker thread');

const api = {
  /** @param {number} id @param {string} payload */
  echo(id, payload) {
    return payload.length >= 0 ? id : -1;
  },
};
expose(api, nodeEndpoint(parentPort));
