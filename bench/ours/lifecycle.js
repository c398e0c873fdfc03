// @ts-check
/**
 * Isolated-mode lifecycle on the real clock: what a crash of the plugin's process costs.
 *
 * One repetition = one SIGKILL of the child of generation N (its pid reported by the bench
 * plugin), with one `send()` held by the plugin and a few more waiting behind it, timed from
 * the kill until
 *   - detect:  `status$` shows generation N failed (state `failed`, or `lastFailure` of N when
 *              the `failed` snapshot was not published on its own);
 *   - reject:  every `send()` generation N had started has rejected (the held one; the
 *              deliveries it had not started are requeued by the fence, not rejected);
 *   - recover: `status$` shows `running` on generation N+1 (restart backoff 0, no jitter);
 *   - requeued: the requeued sends answered by generation N+1.
 * Interleaved with each repetition, the floor of any recovery: a bare
 * `spawn(process.execPath, [script])` until its first message on a pipe on fd 3 (an empty
 * environment and its own process group, as the adapter's child; no other pipes or segments).
 */
import { spawn } from 'node:child_process';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { bounded, settle } from '../lib/drive.js';
import { median, nowUs } from '../lib/stats.js';

const LIFECYCLE_PLUGIN = new URL('../plugins/lifecycle.js', import.meta.url);
const SPAWN_HELLO = fileURLToPath(new URL('../peers/workers/spawn-hello.js', import.meta.url));

/**
 * @typedef {object} LifecycleRep
 * @property {number} detectMs   kill -> generation N failed in status$
 * @property {'state' | 'lastFailure'} detectedBy
 * @property {number} rejectMs   kill -> the last send() generation N held has rejected
 * @property {number} rejected   sends that rejected (held by generation N)
 * @property {number} requeued   sends that were not started by N and answered by N+1
 * @property {number} recoverMs  kill -> running on generation N+1
 * @property {number} requeuedMs kill -> the requeued sends answered
 * @property {number} spawnMs    bare spawn -> first message on a pipe (the paired baseline)
 * @property {string} cause      the failure recorded for generation N (class/cause)
 * @property {string} rejection  the error name the held send rejected with
 */

/**
 * @typedef {object} LifecycleResult
 * @property {string} transport of the lifecycle instance
 * @property {number} detectMs   medians over reps
 * @property {number} rejectMs
 * @property {number} recoverMs
 * @property {number} requeuedMs
 * @property {number} spawnMs
 * @property {LifecycleRep[]} reps
 * @property {string} [error]
 */

/**
 * The floor of a restart: spawn a bare Node process and wait for its first message on fd 3.
 * @param {number} timeoutMs
 * @returns {Promise<number>} ms
 */
export async function spawnToFirstMessage(timeoutMs) {
  const t0 = nowUs();
  const child = spawn(process.execPath, [SPAWN_HELLO], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env: {}, detached: true });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const pipe = /** @type {import('node:net').Socket} */ (child.stdio[3]);
  try {
    return await bounded(
      new Promise((resolve, reject) => {
        pipe.once('data', () => {
          resolve((nowUs() - t0) / 1000);
        });
        child.once('error', reject);
        child.once('exit', (code) => {
          reject(new Error(`spawn-hello exited (${String(code)}) before its message`));
        });
      }),
      timeoutMs,
      'spawn to first message',
    );
  } finally {
    pipe.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await bounded(exited, timeoutMs, 'spawn-hello exit').catch(() => undefined);
  }
}

/**
 * Resolves with the time (nowUs) of the first status that satisfies `pred`.
 * @param {import('plugin-seam').PluginInstance} p
 * @param {(s: import('plugin-seam').PluginStatus) => boolean} pred
 * @returns {{ at: Promise<{ t: number, status: import('plugin-seam').PluginStatus }>, cancel: () => void }}
 */
function whenStatus(p, pred) {
  /** @type {import('rxjs').Subscription | undefined} */
  let sub;
  /** @type {(err: Error) => void} */
  let fail = () => undefined;
  const at = new Promise((resolve, reject) => {
    fail = reject;
    // Only reached by cancel() when nobody awaits any more.
    sub = p.status$.subscribe((s) => {
      if (pred(s)) {
        resolve({ t: nowUs(), status: s });
        queueMicrotask(() => sub?.unsubscribe());
      }
    });
  });
  at.catch(() => undefined);
  return {
    at: /** @type {Promise<{ t: number, status: import('plugin-seam').PluginStatus }>} */ (at),
    cancel: () => {
      sub?.unsubscribe();
      fail(new Error('cancelled'));
    },
  };
}

/**
 * One kill of generation N and its aftermath.
 * @param {import('plugin-seam').PluginInstance} p
 * @param {number} queued  sends submitted behind the held one
 * @param {number} timeoutMs
 * @returns {Promise<Omit<LifecycleRep, 'spawnMs'>>}
 */
async function killOnce(p, queued, timeoutMs) {
  const pid = /** @type {number} */ (await bounded(p.send('pid'), timeoutMs, 'pid'));
  const gen = p.status.generation;
  /** @type {Promise<void>} */
  const holding = new Promise((resolve) => {
    const sub = p.outputs$.subscribe((o) => {
      if (o.channel === 'holding' && o.generation === gen) {
        resolve();
        queueMicrotask(() => {
          sub.unsubscribe();
        });
      }
    });
  });
  /** @type {{ t: number, name: string }[]} */
  const rejections = [];
  /** @param {Promise<unknown>} sent */
  const track = (sent) =>
    sent.then(
      () => ({ ok: true, t: nowUs() }),
      (/** @type {unknown} */ err) => {
        const r = { ok: false, t: nowUs(), name: err instanceof Error ? err.name : String(err) };
        rejections.push(r);
        return r;
      },
    );
  const held = track(p.send('hold'));
  const behind = Array.from({ length: queued }, (_, i) => track(p.send(`after-${i}`)));
  await bounded(holding, timeoutMs, 'hold started');

  const failed = whenStatus(p, (s) => (s.state === 'failed' && s.generation === gen) || s.lastFailure?.generation === gen);
  const running = whenStatus(p, (s) => s.state === 'running' && s.generation > gen);
  const t0 = nowUs();
  try {
    process.kill(pid, 'SIGKILL');
    const f = await bounded(failed.at, timeoutMs, 'kill -> failed');
    const heldOutcome = await bounded(held, timeoutMs, 'held send settled');
    const r = await bounded(running.at, timeoutMs, 'kill -> running');
    const after = await bounded(Promise.all(behind), timeoutMs, 'requeued sends');
    const requeued = after.filter((x) => x.ok).length;
    const failure = p.status.lastFailure;
    return {
      detectMs: (f.t - t0) / 1000,
      detectedBy: f.status.state === 'failed' && f.status.generation === gen ? 'state' : 'lastFailure',
      rejectMs: rejections.length ? (Math.max(...rejections.map((x) => x.t)) - t0) / 1000 : Number.NaN,
      rejected: rejections.length,
      requeued,
      recoverMs: (r.t - t0) / 1000,
      requeuedMs: (Math.max(...after.map((x) => x.t)) - t0) / 1000,
      cause: failure?.generation === gen ? `${failure.class}/${failure.cause}` : 'n/a',
      rejection: heldOutcome.ok ? 'resolved (!)' : (rejections[0]?.name ?? ''),
    };
  } finally {
    failed.cancel();
    running.cancel();
  }
}

/**
 * @param {import('plugin-seam').Runtime} runtime
 * @param {{ reps: number, queued: number, timeoutMs: number }} k
 * @param {(line: string) => void} [vlog]
 * @returns {Promise<LifecycleResult>}
 */
export async function measureLifecycle(runtime, k, vlog = () => undefined) {
  /** @type {LifecycleResult} */
  const out = { transport: '', detectMs: Number.NaN, rejectMs: Number.NaN, recoverMs: Number.NaN, requeuedMs: Number.NaN, spawnMs: Number.NaN, reps: [] };
  const p = runtime.load({
    id: 'isolated-lifecycle',
    module: LIFECYCLE_PLUGIN,
    mode: 'isolated',
    restart: {
      policy: 'permanent',
      intensity: { maxRestarts: 10_000, withinMs: 60_000 },
      backoff: { initialMs: 0, jitter: 0 },
    },
  });
  try {
    await bounded(p.start(), k.timeoutMs, 'lifecycle start');
    await bounded(p.run(), k.timeoutMs, 'lifecycle run');
    out.transport = p.status.transport;
    // Warm-up (not recorded): the first spawn and the first restart pay for cold caches.
    await spawnToFirstMessage(k.timeoutMs);
    await killOnce(p, k.queued, k.timeoutMs);
    for (let r = 0; r < k.reps; r++) {
      await settle(30);
      const spawnMs = await spawnToFirstMessage(k.timeoutMs);
      await settle(30);
      const rep = { ...(await killOnce(p, k.queued, k.timeoutMs)), spawnMs };
      out.reps.push(rep);
      vlog(
        `lifecycle rep ${r + 1}: detect ${rep.detectMs.toFixed(2)} ms (${rep.detectedBy}), reject ${rep.rejectMs.toFixed(2)} ms, ` +
          `recover ${rep.recoverMs.toFixed(1)} ms, spawn ${spawnMs.toFixed(1)} ms, ${rep.cause}`,
      );
    }
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
  }
  const med = (/** @type {(r: LifecycleRep) => number} */ f) => median(out.reps.map(f));
  out.detectMs = med((r) => r.detectMs);
  out.rejectMs = med((r) => r.rejectMs);
  out.recoverMs = med((r) => r.recoverMs);
  out.requeuedMs = med((r) => r.requeuedMs);
  out.spawnMs = med((r) => r.spawnMs);
  return out;
}
