/**
 * The worker-thread entry of embedded mode (a build output of its own: Node cannot start a
 * worker from a .ts file). It validates the launch, then serves the control plane with
 * Comlink and the data plane with the guest session. It does not catch the plugin's
 * uncaught errors: they end the worker, which is how the host learns of them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { GuestSession } from '../guest/GuestSession.js';
import { PROTOCOL_VERSION } from '../protocol.js';
import type { EmbeddedLaunch, GuestToHost, HostToGuest } from '../protocol.js';

const launch = workerData as EmbeddedLaunch;
const port = parentPort;
if (port === null || launch.version !== PROTOCOL_VERSION) {
  throw new Error(`plugin-seam embedded guest: protocol version ${String(launch.version)} is not ${PROTOCOL_VERSION}`);
}

const session = new GuestSession(launch, launch.layout, {
  post: (message: GuestToHost) => {
    port.postMessage(message);
  },
  listen: (listener) => {
    port.on('message', (message: HostToGuest) => {
      listener(message);
    });
  },
});

Comlink.expose(session.control(), nodeEndpoint(launch.controlPort));
