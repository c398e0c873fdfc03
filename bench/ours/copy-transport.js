// @ts-check
/**
 * Host side of the isolated copy-transport variant: forks bench/ours/copy-transport-child.js
 * with `PLUGIN_SEAM_NO_ADDON=1` (the switch is read by the runtime of that process only) and
 * wraps it as two measured clients whose repetitions run in the child. The child inherits
 * this process's CPU affinity, so the pinned placement pins it too.
 */
import { fork } from 'node:child_process';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { bounded } from '../lib/drive.js';
import { PIPELINE_DEPTH } from './clients.js';

const CHILD = fileURLToPath(new URL('./copy-transport-child.js', import.meta.url));
const START_TIMEOUT_MS = 15_000;
/** Added to a repetition's own deadline for the IPC hop and the child's bookkeeping. */
const SLACK_MS = 5_000;

/**
 * @typedef {object} RemoteDriver what a measured client runs instead of timing `call` here
 * @property {(o: import('../lib/drive.js').RoundTripOptions) => Promise<import('../lib/drive.js').RoundTripResult>} roundTrip
 * @property {(o: import('../lib/drive.js').PipelineOptions) => Promise<import('../lib/drive.js').PipelineResult>} pipelined
 */

/**
 * @returns {Promise<{ transport: string, clients: { name: string, maxInFlight: number, call: () => Promise<never>, remote: RemoteDriver }[], close: () => Promise<void> }>}
 */
export async function openCopyTransport() {
  const child = fork(CHILD, [], { env: { ...process.env, PLUGIN_SEAM_NO_ADDON: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
  const pending = new Map();
  let nextId = 1;
  /** @type {Error | null} */
  let dead = null;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.on('message', (/** @type {{ id: number, result?: unknown, error?: string, ready?: boolean, transport?: string }} */ m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.ready ? m : m.result);
  });
  child.on('exit', (code, signal) => {
    dead = new Error(`copy-transport child exited (${String(code ?? signal)})`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  });
  /** @param {number} id @param {number} ms @param {string} label */
  const reply = (id, ms, label) =>
    bounded(
      new Promise((resolve, reject) => {
        if (dead) reject(dead);
        else pending.set(id, { resolve, reject });
      }),
      ms,
      label,
    );
  /** @type {{ transport: string }} */
  let ready;
  try {
    ready = /** @type {{ transport: string }} */ (await reply(0, START_TIMEOUT_MS, 'copy-transport child start'));
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  /** @param {'frame' | 'message'} client @returns {RemoteDriver} */
  const driver = (client) => ({
    roundTrip: (opts) => {
      const id = nextId++;
      const r = reply(id, (opts.timeoutMs ?? 20_000) + SLACK_MS, 'copy-transport round trip');
      child.send({ id, kind: 'roundTrip', client, opts });
      return /** @type {Promise<any>} */ (r);
    },
    pipelined: (opts) => {
      const id = nextId++;
      const r = reply(id, (opts.timeoutMs ?? 20_000) + SLACK_MS, 'copy-transport pipelined');
      child.send({ id, kind: 'pipelined', client, opts });
      return /** @type {Promise<any>} */ (r);
    },
  });
  const unused = () => Promise.reject(new Error('measured in the copy-transport child'));
  return {
    transport: ready.transport,
    clients: [
      { name: 'isolated frame (copy transport)', maxInFlight: PIPELINE_DEPTH, call: unused, remote: driver('frame') },
      { name: 'isolated message (copy transport)', maxInFlight: PIPELINE_DEPTH, call: unused, remote: driver('message') },
    ],
    async close() {
      if (dead) return;
      child.send({ kind: 'close' });
      try {
        await bounded(exited, 20_000, 'copy-transport child exit');
      } catch {
        child.kill('SIGKILL');
      }
    },
  };
}
