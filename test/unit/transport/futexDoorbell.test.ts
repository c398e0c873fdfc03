import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Doorbell, atomicsNotify } from '../../../src/transport/Doorbell.js';
import type { NotifyFn } from '../../../src/transport/Doorbell.js';
import { futexBlockingWait, futexNotify } from '../../../src/transport/futexDoorbell.js';
import { loadShmBinding } from '../../../src/transport/shmBinding.js';
import type { ShmBinding } from '../../../src/transport/shmBinding.js';
import { compileTransport, startWorker, waitUntil, type CompiledTransport } from './support/workerHarness.js';

/** A binding with only the futex calls, recording them (pure logic: what the helpers call). */
function fakeBinding(wait: (timeoutMs: number) => 0 | 1 | 2, wake: () => number): { binding: ShmBinding; calls: string[] } {
  const calls: string[] = [];
  const binding = {
    futexWait: (_buffer: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number, processPrivate?: boolean) => {
      calls.push(`wait ${byteOffset} ${expected} ${timeoutMs}${processPrivate === true ? ' private' : ''}`);
      return wait(timeoutMs);
    },
    futexWake: (_buffer: SharedArrayBuffer, byteOffset: number, count: number, processPrivate?: boolean) => {
      calls.push(`wake ${byteOffset} ${count}${processPrivate === true ? ' private' : ''}`);
      return wake();
    },
  } as unknown as ShmBinding;
  return { binding, calls };
}

describe('futexBlockingWait', () => {
  it('is undefined without the addon or without its futexWait', () => {
    expect(futexBlockingWait(undefined)).toBeUndefined();
    expect(futexBlockingWait({} as ShmBinding)).toBeUndefined();
  });

  it("waits on the word's own offset, caps the timeout at the addon's 60 s and maps its result", () => {
    const results: (0 | 1 | 2)[] = [0, 1, 2];
    const { binding, calls } = fakeBinding(() => results.shift() ?? 2, () => 0);
    const wait = futexBlockingWait(binding);
    if (wait === undefined) throw new Error('expected a wait');
    const word = new Int32Array(new SharedArrayBuffer(64), 8, 1);
    expect(wait(word, 2, 1)).toBe('ok');
    expect(wait(word, 2, Number.POSITIVE_INFINITY)).toBe('not-equal');
    expect(wait(word, 2, 0.5)).toBe('timed-out');
    expect(calls).toEqual(['wait 8 2 1', 'wait 8 2 60000', 'wait 8 2 0.5']);
  });

  it("passes the 'process' scope on as a process-private futex", () => {
    const { binding, calls } = fakeBinding(() => 0, () => 0);
    futexBlockingWait(binding, 'process')?.(new Int32Array(new SharedArrayBuffer(64), 8, 1), 0, 1);
    expect(calls).toEqual(['wait 8 0 1 private']);
  });
});

describe('futexNotify', () => {
  const word = new Int32Array(new SharedArrayBuffer(64), 12, 1);

  it('is the fallback itself without futexWake', () => {
    const otherwise: NotifyFn = () => undefined;
    expect(futexNotify(undefined, otherwise)).toBe(otherwise);
    expect(futexNotify({} as ShmBinding, otherwise)).toBe(otherwise);
  });

  it('wakes a blocking sleeper with futexWake and any other with the fallback', () => {
    const { binding, calls } = fakeBinding(() => 0, () => 1);
    const notify = futexNotify(binding, (_word, blocking) => calls.push(`otherwise ${String(blocking)}`));
    notify(word, true);
    notify(word, false);
    futexNotify(binding, () => undefined, 'process')(word, true);
    expect(calls).toEqual(['wake 12 1', 'otherwise false', 'wake 12 1 private']);
  });

  it('falls back when futexWake throws, and throws nothing itself', () => {
    const { binding, calls } = fakeBinding(
      () => 0,
      () => {
        throw new RangeError('no such word');
      },
    );
    const notify = futexNotify(binding, (_word, blocking) => calls.push(`otherwise ${String(blocking)}`));
    expect(() => {
      notify(word, true);
    }).not.toThrow();
    expect(calls).toEqual(['wake 12 1', 'otherwise true']);
  });
});

const binding = loadShmBinding();
const addonPath = fileURLToPath(new URL('../../../native/build/Release/plugin_seam_shm.node', import.meta.url));

/**
 * Guest: says which thread it is, then parks once with the blocking Doorbell.park on the
 * addon's futex (as the embedded guest does when the host says so), and reports how the park
 * ended and how long it took.
 */
const PARK_GUEST = `
import { readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell } from './Doorbell.js';
import { futexBlockingWait } from './futexDoorbell.js';

const { sab, addonPath, timeoutMs, scope } = workerData;
const flag = new Int32Array(sab, 4, 1);
const bell = new Doorbell(sab, 0, { wait: futexBlockingWait(createRequire(import.meta.url)(addonPath), scope) });
parentPort.postMessage({ thread: readlinkSync('/proc/thread-self') });
const t0 = performance.now();
const outcome = bell.park(() => Atomics.load(flag, 0) === 1, timeoutMs);
parentPort.postMessage({ outcome, ms: performance.now() - t0 });
`;

/**
 * Whether the kernel says a thread of this process sleeps in a futex wait: its wchan names the
 * futex wait, or, where the kernel hides wchan ("0"), the thread is at least asleep (S).
 */
function asleepOnFutex(thread: string): boolean {
  try {
    const wchan = readFileSync(`/proc/${thread}/wchan`, 'utf8').trim();
    if (wchan !== '' && wchan !== '0') return wchan.includes('futex');
    const stat = readFileSync(`/proc/${thread}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('S');
  } catch {
    return false;
  }
}

describe.skipIf(binding?.futexWait === undefined || binding.futexWake === undefined)('futex doorbell between two threads', () => {
  let compiled: CompiledTransport;
  beforeAll(async () => {
    compiled = await compileTransport();
  });
  afterAll(async () => {
    await compiled.cleanup();
  });

  it.each(['shared', 'process'] as const)('a thread asleep on the futex (%s scope) is woken by futexNotify of that scope, not by Atomics.notify nor a wake of the other scope', async (scope) => {
    const TIMEOUT_MS = 10_000;
    const sab = new SharedArrayBuffer(64);
    const started = startWorker(await compiled.script('park-guest.mjs', PARK_GUEST), { sab, addonPath, timeoutMs: TIMEOUT_MS, scope });
    const report = new Promise<{ outcome: string; ms: number }>((resolve) => {
      started.worker.on('message', (message: { outcome?: string; ms?: number }) => {
        if (message.outcome !== undefined) resolve(message as { outcome: string; ms: number });
      });
    });
    try {
      const { thread } = (await started.firstMessage) as { thread: string };
      const host = new Doorbell(sab, 0, { notify: futexNotify(binding, atomicsNotify, scope) });
      // Handshakes, not sleeps: the park word raised, then the kernel saying the thread sleeps
      // in a futex wait. A ring before that would end the park without any wake (the word
      // changes under the wait), which would prove nothing here.
      await waitUntil(() => host.isParked, 'the guest parks');
      await waitUntil(() => asleepOnFutex(thread), 'the guest sleeps in the kernel');
      // V8 has no waiter on the word: the guest sleeps in the kernel, where Atomics.notify
      // does not reach. That is why host and guest must agree (EmbeddedLaunch.futexDoorbell).
      expect(Atomics.notify(new Int32Array(sab, 0, 1), 0)).toBe(0);
      // Nor does a futex wake of the other scope: the kernel keys the two differently.
      expect(binding?.futexWake?.(sab, 0, 1, scope === 'shared')).toBe(0);
      Atomics.store(new Int32Array(sab, 4, 1), 0, 1);
      expect(host.ring()).toBe(true);
      const { outcome, ms } = await report;
      expect(outcome).toBe('woken');
      expect(ms).toBeLessThan(TIMEOUT_MS);
    } finally {
      const exited = once(started.worker, 'exit');
      await started.worker.terminate();
      await exited;
    }
  });
});
