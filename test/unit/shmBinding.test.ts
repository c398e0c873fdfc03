import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { findPackageRoot } from '../../src/transport/findPackageRoot.js';
import { loadShmBinding, SHM_ADDON_DISABLE_ENV, shmBindingUnavailableReason } from '../../src/transport/shmBinding.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', name);
const addonPath = path.join(repoRoot, 'native', 'build', 'Release', 'plugin_seam_shm.node');

// Every cross-process wait below is bounded by this; the happy path takes milliseconds.
const WAIT_MS = 5_000;
const DATA_OFFSET = 64;

const binding = loadShmBinding();
if (binding === undefined) {
  console.warn(`shmBinding tests skipped: ${shmBindingUnavailableReason() ?? 'unknown reason'}`);
}

// Atomics.waitAsync is in Node 20 but only in TypeScript's ES2024 lib, which this project does
// not enable; type just the overload used here instead of widening the lib for everything.
type WaitAsyncResult =
  | { readonly async: false; readonly value: 'not-equal' | 'timed-out' }
  | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: (array: Int32Array, index: number, value: number, timeout: number) => WaitAsyncResult })
  .waitAsync;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${WAIT_MS} ms: ${what}`));
    }, WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** Parses a child's stdout as one JSON object per line. */
function messages(child: ChildProcess): () => Promise<Record<string, unknown>> {
  if (child.stdout === null) throw new Error('child has no stdout pipe');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return async () => {
    const next = await withTimeout(lines.next(), 'next message from child');
    if (next.done === true) throw new Error('child closed stdout');
    const parsed: unknown = JSON.parse(next.value);
    if (typeof parsed !== 'object' || parsed === null) throw new Error(`not a JSON object: ${next.value}`);
    return parsed as Record<string, unknown>;
  };
}

const DOORBELL_BYTE = Buffer.from([1]);

/** Counts one-byte rings arriving on `stream`; the returned function waits for the next one. */
function doorbell(stream: Readable): () => Promise<void> {
  let rung = 0;
  let wake: (() => void) | undefined;
  stream.on('data', (chunk: Buffer) => {
    rung += chunk.length;
    wake?.();
  });
  return async () => {
    while (rung === 0) {
      await withTimeout(
        new Promise<void>((resolve) => {
          wake = resolve;
        }),
        'doorbell from child',
      );
    }
    wake = undefined;
    rung--;
  };
}

/** True once `pid` no longer runs; a zombie counts as gone, since init may not reap it promptly. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw error;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** Descriptors of this process that point at one of our memfds. */
function openSegmentFds(): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${entry}`);
      if (target.startsWith('/memfd:plugin-seam')) found.push(`${entry} -> ${target}`);
    } catch {
      // The readdir handle itself, or an fd closed meanwhile.
    }
  }
  return found;
}

const listDevShm = (): string[] => (fs.existsSync('/dev/shm') ? fs.readdirSync('/dev/shm') : []);

const spawned: ChildProcess[] = [];
function track(child: ChildProcess): ChildProcess {
  spawned.push(child);
  return child;
}
const strayPids: number[] = [];

afterEach(() => {
  // A failed test must not leave a spinning or blocked process behind.
  for (const child of spawned.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of strayPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
});

describe('loadShmBinding', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it(`reports the addon unavailable while ${SHM_ADDON_DISABLE_ENV}=1, and available again after`, () => {
    vi.stubEnv(SHM_ADDON_DISABLE_ENV, '1');
    expect(loadShmBinding()).toBeUndefined();
    expect(shmBindingUnavailableReason()).toMatch(SHM_ADDON_DISABLE_ENV);
    vi.stubEnv(SHM_ADDON_DISABLE_ENV, '');
    const loaded = loadShmBinding();
    expect(shmBindingUnavailableReason() === undefined).toBe(loaded !== undefined);
    // Loaded once and cached: the same object every time.
    if (binding !== undefined) expect(loaded).toBe(binding);
  });

  it('finds the package root from both src/transport and dist/transport', () => {
    for (const dir of ['src', 'dist']) {
      const moduleUrl = pathToFileURL(path.join(repoRoot, dir, 'transport', 'shmBinding.js'));
      expect(findPackageRoot(moduleUrl, 'plugin-seam')).toBe(path.resolve(repoRoot));
    }
    expect(findPackageRoot(path.join(os.tmpdir(), 'x.js'), 'plugin-seam')).toBeUndefined();
    expect(findPackageRoot('https://example.com/x.js', 'plugin-seam')).toBeUndefined();
  });
});

describe.skipIf(binding === undefined)('shm addon', () => {
  // Narrowed once here; the suite is skipped when the addon is unavailable.
  const shm = binding!;
  /** The futex calls, which this checkout's addon build has (older builds may not). */
  const futex = (): { futexWait: NonNullable<typeof shm.futexWait>; futexWake: NonNullable<typeof shm.futexWake> } => {
    const { futexWait, futexWake } = shm;
    if (futexWait === undefined || futexWake === undefined) throw new Error('the built addon has no futexWait/futexWake: rebuild it (npm run build:native)');
    return { futexWait, futexWake };
  };
  let devShmBefore: string[] = [];

  beforeAll(() => {
    devShmBefore = listDevShm();
  });

  it('creates a sealed, page-rounded segment that reads back what was written', () => {
    const { fd, buffer } = shm.createSegment(100);
    try {
      expect(buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(buffer.byteLength).toBe(shm.constants.PAGE_SIZE);
      const bytes = new Uint8Array(buffer);
      const words = new Int32Array(buffer);
      bytes.set([1, 2, 3, 4], 0);
      Atomics.store(words, 1, 0x12345678);
      expect(Array.from(bytes.subarray(0, 4))).toEqual([1, 2, 3, 4]);
      expect(Atomics.load(words, 1)).toBe(0x12345678);

      const { F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_WRITE } = shm.constants;
      const seals = shm.seals(fd);
      expect(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)).toBe(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
      // Writable on purpose: both sides write frames.
      expect(seals & F_SEAL_WRITE).toBe(0);
    } finally {
      shm.closeFd(fd);
    }
  });

  it('keeps the size fixed: ftruncate fails with EPERM', () => {
    const { fd, buffer } = shm.createSegment(shm.constants.PAGE_SIZE);
    try {
      expect(() => {
        fs.ftruncateSync(fd, 0);
      }).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(() => {
        fs.ftruncateSync(fd, buffer.byteLength * 2);
      }).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(fs.fstatSync(fd).size).toBe(buffer.byteLength);
    } finally {
      shm.closeFd(fd);
    }
  });

  it('rejects sizes that are not positive integers up to the cap', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, shm.constants.MAX_SEGMENT_BYTES + 1]) {
      expect(() => shm.createSegment(bad)).toThrow(RangeError);
    }
    expect(() => shm.createSegment('4096' as unknown as number)).toThrow(TypeError);
  });

  it('maps a segment twice in one process as the same memory, outliving the fd', () => {
    const { fd, buffer } = shm.createSegment(2 * shm.constants.PAGE_SIZE);
    const second = shm.mapSegment(fd, buffer.byteLength);
    shm.closeFd(fd);
    new Uint8Array(buffer)[buffer.byteLength - 1] = 0xab;
    expect(new Uint8Array(second)[buffer.byteLength - 1]).toBe(0xab);
  });

  it('refuses to map a segment whose size differs from the expected one', () => {
    const { fd, buffer } = shm.createSegment(shm.constants.PAGE_SIZE);
    try {
      expect(() => shm.mapSegment(fd, buffer.byteLength * 2)).toThrow(/size mismatch/);
      expect(() => shm.mapSegment(fd, buffer.byteLength - 1)).toThrow(/size mismatch/);
    } finally {
      shm.closeFd(fd);
    }
  });

  it('refuses files that are not sealed against resizing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-seam-shm-'));
    // A regular file cannot carry seals at all.
    const regular = fs.openSync(path.join(dir, 'segment'), 'w+');
    // A tmpfs file is the same kind of shmem file as a memfd, but reports only F_SEAL_SEAL:
    // the closest thing to a memfd created without seals.
    const shmPath = fs.existsSync('/dev/shm') ? path.join('/dev/shm', `plugin-seam-test-${process.pid}`) : undefined;
    const tmpfs = shmPath === undefined ? undefined : fs.openSync(shmPath, 'w+');
    try {
      fs.ftruncateSync(regular, shm.constants.PAGE_SIZE);
      expect(() => shm.mapSegment(regular, shm.constants.PAGE_SIZE)).toThrow(/not a sealable memfd/);
      if (tmpfs !== undefined) {
        fs.ftruncateSync(tmpfs, shm.constants.PAGE_SIZE);
        expect(shm.seals(tmpfs) & shm.constants.F_SEAL_SHRINK).toBe(0);
        expect(() => shm.mapSegment(tmpfs, shm.constants.PAGE_SIZE)).toThrow(/not sealed against resizing/);
      }
    } finally {
      fs.closeSync(regular);
      fs.rmSync(dir, { recursive: true, force: true });
      if (tmpfs !== undefined) fs.closeSync(tmpfs);
      if (shmPath !== undefined) fs.rmSync(shmPath, { force: true });
    }
  });

  it('throws errno errors for bad descriptors', () => {
    const { fd } = shm.createSegment(1);
    shm.closeFd(fd);
    expect(() => {
      shm.closeFd(fd);
    }).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'close' }));
    expect(() => shm.mapSegment(fd, shm.constants.PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => shm.seals(-1)).toThrow(RangeError);
    expect(() => shm.setParentDeathSignal(65)).toThrow(RangeError);
  });

  it('arms the group death signal only for a process that leads its own process group', () => {
    // This test process shares its group with the runner (kill(0, …) would reach them all).
    const pgrp = Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[2]);
    expect(pgrp).not.toBe(process.pid);
    expect(shm.setGroupDeathSignal).toBeTypeOf('function');
    expect(() => shm.setGroupDeathSignal?.()).toThrow(/does not lead its own process group/);
  });

  it('shares a segment with a worker thread, and the memory outlives the worker', async () => {
    // Loading the addon in a second thread of this process needs a context-aware addon.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const addon = require(workerData.addonPath);
       const { fd, buffer } = addon.createSegment(100);
       addon.closeFd(fd);
       new Uint8Array(buffer)[0] = 99;
       parentPort.postMessage(buffer);`,
      { eval: true, workerData: { addonPath } },
    );
    const [buffer] = (await withTimeout(once(worker, 'message'), 'segment from worker')) as [SharedArrayBuffer];
    await withTimeout(once(worker, 'exit'), 'worker exit');
    expect(buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(new Uint8Array(buffer)[0]).toBe(99);
    new Uint8Array(buffer)[1] = 7;
    expect(new Uint8Array(buffer)[1]).toBe(7);
  });

  it('unmaps a segment once its last SharedArrayBuffer is collected', async () => {
    const script = `
      const addon = require(process.env.ADDON_PATH);
      const fs = require('node:fs');
      const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('/memfd:plugin-seam')).length;
      let segment = addon.createSegment(1 << 20);
      addon.closeFd(segment.fd);
      const before = mapped();
      segment = null;
      (async () => {
        // Bounded: a few full GCs free an unreferenced buffer; sweeping may finish a tick later.
        for (let i = 0; i < 20 && mapped() > 0; i++) {
          globalThis.gc();
          await new Promise((resolve) => setImmediate(resolve));
        }
        console.log(JSON.stringify({ before, after: mapped() }));
      })();`;
    const child = track(
      spawn(process.execPath, ['--expose-gc', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, ADDON_PATH: addonPath },
      }),
    );
    const next = messages(child);
    expect(await next()).toEqual({ before: 1, after: 0 });
  });

  it('wakes a child asleep in futexWait on a word of a shared segment (futexWake)', async () => {
    const { futexWake } = futex();
    const { fd, buffer } = shm.createSegment(4096);
    let child: ChildProcess;
    try {
      child = track(
        spawn(process.execPath, [fixture('shmFutexChild.mjs'), String(buffer.byteLength), String(process.pid)], {
          stdio: ['ignore', 'pipe', 'inherit', fd],
        }),
      );
    } finally {
      shm.closeFd(fd);
    }
    const exited = once(child, 'exit');
    const next = messages(child);
    const words = new Int32Array(buffer, 0, 3);
    Atomics.store(words, 1, 7);
    // Handshake, not a sleep: futexWake says how many it woke, so 1 proves the child was
    // asleep in the kernel on this very word of its own mapping.
    const deadline = performance.now() + WAIT_MS;
    let woke = 0;
    while (woke === 0) {
      if (performance.now() > deadline) throw new Error('the child never slept on the word');
      await new Promise((resolve) => setImmediate(resolve));
      woke = futexWake(buffer, 0, 1);
    }
    const report = await next();
    expect(report).toMatchObject({ woken: 0, value: 7, notEqual: 1, timedOut: 2 });
    expect(report.sleptMs).toBeLessThan(WAIT_MS);
    expect(await withTimeout(exited, 'child exit')).toEqual([0, null]);
  });

  it('yields the core and returns at once (schedYield)', () => {
    const { schedYield } = shm;
    if (schedYield === undefined) throw new Error('the built addon has no schedYield: rebuild it (npm run build:native)');
    // sched_yield cannot fail on Linux; it returns even with nothing else to run.
    for (let i = 0; i < 3; i++) expect(schedYield()).toBe(0);
  });

  it('copies bytes between views at any offset, into a segment and a SharedArrayBuffer (copyBytes)', () => {
    const { copyBytes } = shm;
    if (copyBytes === undefined) throw new Error('the built addon has no copyBytes: rebuild it (npm run build:native)');
    const length = (1 << 20) + 3;
    const heap = new Uint8Array(length + 5);
    for (let i = 0; i < heap.length; i++) heap[i] = (i * 7 + (i >>> 8)) & 255;
    const source = heap.subarray(5);
    const { fd, buffer } = shm.createSegment(length + 64);
    shm.closeFd(fd);
    for (const target of [new Uint8Array(buffer, 17, length), new Uint8Array(new SharedArrayBuffer(length + 1), 1)]) {
      const before = new Uint8Array(target.buffer, 0, target.byteOffset).slice();
      copyBytes(target, source);
      expect(Buffer.compare(target, source)).toBe(0);
      // Nothing outside the target moved.
      expect(Buffer.compare(new Uint8Array(target.buffer, 0, target.byteOffset), before)).toBe(0);
    }
    // Overlapping views of one buffer: memmove semantics.
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i);
    copyBytes(bytes.subarray(2, 10), bytes.subarray(0, 8));
    expect(Array.from(bytes.subarray(0, 12))).toEqual([0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 10, 11]);
  });

  it('copyBytes refuses views of different lengths and what is not a Uint8Array', () => {
    const { copyBytes } = shm;
    if (copyBytes === undefined) throw new Error('the built addon has no copyBytes: rebuild it (npm run build:native)');
    const target = new Uint8Array(new SharedArrayBuffer(8));
    expect(() => {
      copyBytes(target, new Uint8Array(9));
    }).toThrow(/target has 8 bytes, source 9/);
    expect(() => {
      copyBytes(target, new Uint16Array(4) as unknown as Uint8Array);
    }).toThrow(TypeError);
    expect(() => {
      copyBytes(target.buffer as unknown as Uint8Array, new Uint8Array(8));
    }).toThrow(TypeError);
    const detached = new Uint8Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => {
      copyBytes(target, detached);
    }).toThrow(RangeError);
    expect(Array.from(target)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('futexWait and futexWake refuse what is not an aligned word of a SharedArrayBuffer', () => {
    const { futexWait, futexWake } = futex();
    const { fd, buffer } = shm.createSegment(4096);
    shm.closeFd(fd);
    expect(futexWake(buffer, 0, 1)).toBe(0);
    expect(futexWait(buffer, 0, 1, 0)).toBe(1);
    expect(futexWait(buffer, 0, 0, 0)).toBe(2);
    const plain = new ArrayBuffer(8) as unknown as SharedArrayBuffer;
    expect(() => futexWait(plain, 0, 0, 0)).toThrow(/SharedArrayBuffer/);
    expect(() => futexWake(buffer, 2, 1)).toThrow(/4-aligned/);
    expect(() => futexWake(buffer, 4096, 1)).toThrow(RangeError);
    expect(() => futexWake(buffer, -4, 1)).toThrow(RangeError);
    expect(() => futexWake(buffer, 0, 0)).toThrow(RangeError);
    expect(() => futexWait(buffer, 0, 0, -1)).toThrow(/timeoutMs/);
    expect(() => futexWait(buffer, 0, 0, Number.NaN)).toThrow(/timeoutMs/);
    expect(() => futexWait(buffer, 0, 0, 60_001)).toThrow(/timeoutMs/);
    expect(() => futexWait(buffer, 0, 2 ** 31, 0)).toThrow(RangeError);
  });

  it('ping-pongs 1000 times with a child process through the shared segment', async () => {
    const rounds = 1000;
    const { fd, buffer } = shm.createSegment(64 * 1024);
    const ctl = new Int32Array(buffer, 0, 4);
    const data = new Uint8Array(buffer, DATA_OFFSET);
    let expectedChecksum = 0;
    for (let j = 0; j < data.length; j++) {
      data[j] = (j * 7 + 3) & 0xff;
      expectedChecksum = (expectedChecksum + (data[j] ?? 0)) >>> 0;
    }

    let child: ChildProcess;
    try {
      child = track(
        spawn(process.execPath, [fixture('shmPingPongChild.mjs'), String(buffer.byteLength), String(rounds), String(process.pid)], {
          // fd 0: doorbell to the child; fd 1: its reports; fd 3: the memfd (dup2 clears
          // close-on-exec on the child's copy only); fd 4: doorbell from the child.
          stdio: ['pipe', 'pipe', 'inherit', fd, 'pipe'],
        }),
      );
    } finally {
      // The child has its own descriptor now; the host's mapping does not need one.
      shm.closeFd(fd);
    }
    const exited = once(child, 'exit');
    const next = messages(child);
    const { stdin } = child;
    const fromChild = child.stdio[4];
    if (stdin === null || !(fromChild instanceof Readable)) throw new Error('doorbell pipes missing');
    const ring = (): void => {
      stdin.write(DOORBELL_BYTE);
    };
    const awaitRing = doorbell(fromChild);

    expect(await next()).toEqual({
      type: 'ready',
      parentAlive: true,
      truncate: 'EPERM',
      byteLength: buffer.byteLength,
      checksum: expectedChecksum,
    });

    // V8 emulates futexes per process: the child's Atomics.notify on this very memory wakes
    // nobody, and the host's waitAsync stays parked. Hence the pipe doorbells.
    const parked = waitAsync(ctl, 3, 0, WAIT_MS);
    if (!parked.async) throw new Error(`waitAsync did not park: ${parked.value}`);
    ring();
    expect(await next()).toEqual({ type: 'notified', woken: 0 });
    expect(await Promise.race([parked.value, Promise.resolve('still parked')])).toBe('still parked');
    Atomics.store(ctl, 3, 1);
    expect(Atomics.notify(ctl, 3)).toBe(1);
    expect(await parked.value).toBe('ok');

    let wrongAnswers = 0;
    for (let i = 0; i < rounds; i++) {
      const ping = Math.imul(i, 0x9e3779b1);
      Atomics.store(ctl, 1, ping);
      Atomics.store(ctl, 0, 2 * i + 1);
      ring();
      await awaitRing();
      if (Atomics.load(ctl, 0) !== 2 * i + 2 || Atomics.load(ctl, 2) !== (ping ^ 0x5a5a)) wrongAnswers++;
    }
    expect(wrongAnswers).toBe(0);

    // The child rewrote the data region before its last answer.
    let mismatches = 0;
    for (let j = 0; j < data.length; j++) if (data[j] !== ((j * 13 + 5) & 0xff)) mismatches++;
    expect(mismatches).toBe(0);

    expect(await next()).toEqual({ type: 'done' });
    expect(await withTimeout(exited, 'child exit')).toEqual([0, null]);
  });

  it('kills a busy grandchild when its host is SIGKILLed (PR_SET_PDEATHSIG)', async () => {
    const host = track(spawn(process.execPath, [fixture('shmDeathHost.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const hostExited = once(host, 'exit');
    const report = await messages(host)();
    const { pid, parentAlive, hostPid } = report;
    if (typeof pid !== 'number') throw new Error(`no grandchild pid in ${JSON.stringify(report)}`);
    strayPids.push(pid);
    expect(hostPid).toBe(host.pid);
    expect(parentAlive).toBe(true);
    expect(isGone(pid)).toBe(false);

    host.kill('SIGKILL');
    await withTimeout(hostExited, 'host exit');

    // Polling is the only portable way to observe another process's death; bounded at 2 s.
    const deadline = Date.now() + 2_000;
    while (!isGone(pid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(isGone(pid)).toBe(true);
  });

  it('leaves nothing behind: no /dev/shm entries, no open segment fds', () => {
    // Another run of this file (another pid) may be probing /dev/shm right now; that is not ours.
    const othersProbe = (name: string): boolean => /^plugin-seam-test-\d+$/.test(name) && name !== `plugin-seam-test-${process.pid}`;
    expect(listDevShm().filter((name) => !devShmBefore.includes(name) && !othersProbe(name))).toEqual([]);
    expect(openSegmentFds()).toEqual([]);
  });
});
