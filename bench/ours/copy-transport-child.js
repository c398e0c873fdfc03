#!/usr/bin/env node
// @ts-check
/**
 * The isolated copy-transport variant, in a process of its own started by
 * bench/ours/copy-transport.js with `PLUGIN_SEAM_NO_ADDON=1`: without the addon the runtime
 * copies frames over the pipe (`status.transport: 'copy'`). It opens the same small-input
 * instance as the main run and measures one repetition per request from the parent (over
 * Node's IPC channel, outside every timed section), so the parent can interleave it with
 * the clients it measures itself.
 *
 *   parent -> { id, kind: 'roundTrip' | 'pipelined', client: 'frame' | 'message', opts }
 *   child  -> { id, result } | { id, error };  first { ready: true, transport, id: 0 }
 */
import process from 'node:process';
import { createRuntime } from 'plugin-seam';
import { timePipelined, timeRoundTrips } from '../lib/drive.js';
import { ConnectFeeder, frameClient, messageClient, openSmall } from './clients.js';

const send = (/** @type {unknown} */ m) => {
  process.send?.(m);
};
const runtime = createRuntime();
let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await runtime.shutdown().catch(() => undefined);
  process.exit(0);
};
process.on('disconnect', () => {
  void close();
});

try {
  const p = await openSmall(runtime, 'isolated');
  const feeder = new ConnectFeeder(p);
  const clients = { frame: frameClient(p, feeder), message: messageClient(p) };
  process.on('message', (/** @type {{ id: number, kind: string, client: 'frame' | 'message', opts: object }} */ m) => {
    if (m.kind === 'close') {
      feeder.close();
      void close();
      return;
    }
    const call = clients[m.client].call;
    const run = m.kind === 'roundTrip' ? timeRoundTrips(call, m.opts) : timePipelined(call, m.opts);
    run.then(
      (result) => {
        send({ id: m.id, result });
      },
      (/** @type {unknown} */ err) => {
        send({ id: m.id, error: err instanceof Error ? err.message : String(err) });
      },
    );
  });
  send({ id: 0, ready: true, transport: p.status.transport });
} catch (err) {
  send({ id: 0, error: err instanceof Error ? err.message : String(err) });
  await close();
}
