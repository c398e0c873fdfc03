// @ts-check
/**
 * child_process.fork peer (json or advanced serialization).
 *   { id, payload } -> process.send(id)
 *   { id, buf }     -> touches buf, process.send(id)
 * Exits when the IPC channel is closed by the host.
 */
import process from 'node:process';
import { touch } from './touch.js';

process.on('message', (/** @type {{ id: number, buf?: Uint8Array }} */ m) => {
  if (m.buf !== undefined) touch(m.buf);
  process.send?.(m.id);
});
process.on('disconnect', () => {
  process.exit(0);
});
process.send?.('ready');
