// Real-process fault tests for isolated mode, part 1: the start phase, the environment, and
// the host's own death. Each plugin generation is a real Node child process; the faults are
// real (an exit, bytes on the control pipe, a SIGKILL of an intermediate host).
//
// Before-handshake faults need a child that misbehaves before the real guest says hello:
// `isolation.env.NODE_OPTIONS = --import test/fixtures/isolated-preload.mjs` runs a hostile
// prelude first (the environment is the host's choice, so this is a test seam, not a hole).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { LostWhileRunning, StartupFailed } from 'plugin-seam';
import type { PluginInstance } from 'plugin-seam';
import { useHarness } from '../conformance/harness.js';
import {
  expectBalanced,
  expectEnds,
  expectServes,
  expectState,
  fixturePath,
  guardHost,
  hasEnded,
  preloadFault,
  procState,
} from '../fixtures/faultKit.js';

guardHost();

/**
 * Runs an intermediate host (a fixture script) to its exit, or kills it after `withinMs`
 * (code 'timeout'); its exit code and everything it printed.
 */
async function runHost(name: string, withinMs: number): Promise<{ code: number | null | 'timeout'; stdout: string; stderr: string }> {
  const host = spawn(process.execPath, [fixturePath(name)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  host.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  host.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([
    // 'close': exited, and everything it printed has been read.
    new Promise<number | null>((resolve) => {
      host.on('close', (exitCode) => {
        resolve(exitCode);
      });
    }),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, withinMs);
    }),
  ]);
  clearTimeout(timer);
  if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
  return { code, stdout, stderr };
}

/** Starts `p`, expecting a startup failure; returns the error. */
async function failedStart(p: PluginInstance): Promise<StartupFailed> {
  const error = await p.start().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StartupFailed);
  return error as StartupFailed;
}

describe('isolated faults: start phase, environment, host death', () => {
  const harness = useHarness('isolated');

  // A4: the process exits before the handshake (a prelude exits with code 1 before the
  // guest could say hello) → startup/exit, code 1, the stderr tail in the detail.
  it('A4: a child that exits before its hello is startup/exit with code 1 and its stderr tail', async () => {
    const h = harness();
    const other = await h.running();
    const p = h.load({ fixture: 'faults', isolation: preloadFault('exit1'), restart: { policy: 'never' } });
    const error = await failedStart(p);
    expect(error).toMatchObject({ failureCause: 'exit', generation: 1, instanceId: p.id });
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'startup', cause: 'exit', exitCode: 1, generation: 1 } });
    expect(p.status.failure?.detail).toMatch(/stderr: preload: refusing to boot/);
    expect(p.status.restart).toEqual({ scheduled: false, delayMs: 0, exhausted: false });
    expectBalanced(p);
    await expectServes(other);
  });

  // A4: the plugin module ends the process while it is imported (after the handshake,
  // before start resolved) → startup/exit code 1 with the stderr tail.
  it('A4: a module that calls process.exit(1) at import is startup/exit with its stderr tail', async () => {
    const h = harness();
    const other = await h.running();
    const p = h.load({ fixture: 'faults-exit-at-import', restart: { policy: 'never' } });
    const error = await failedStart(p);
    expect(error).toMatchObject({ failureCause: 'exit', generation: 1 });
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'startup', cause: 'exit', exitCode: 1, generation: 1 } });
    expect(p.status.failure?.detail).toMatch(/stderr: faults-exit-at-import: cannot find my native dependency/);
    expectBalanced(p);
    await expectServes(other);
  });

  // A4: a module path that does not exist → startup/threw, the path in the detail; input
  // sent meanwhile is refused explicitly, never left pending.
  it('A4: a module path that does not exist is startup/threw naming the module', async () => {
    const h = harness();
    const other = await h.running();
    const p = h.load({ fixture: 'does-not-exist', restart: { policy: 'never' } });
    const error = await failedStart(p);
    expect(error).toMatchObject({ failureCause: 'threw', generation: 1 });
    expect(error.detail).toMatch(/does-not-exist\.mjs/);
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'startup', cause: 'threw', generation: 1 } });
    await expect(p.send({ op: 'echo', value: 1 })).rejects.toMatchObject({ name: 'InputRefused' });
    expect(p.status.counters).toMatchObject({ accepted: 0, refused: 1 });
    expectBalanced(p);
    await expectServes(other);
  });

  // A5: wrong version — a well-formed hello announcing protocol 999 → startup/version; the
  // child is killed.
  it('A5: a hello with protocol version 999 is startup/version', async () => {
    const h = harness();
    const other = await h.running();
    const p = h.load({ fixture: 'faults', isolation: preloadFault('hello999'), restart: { policy: 'never' } });
    const error = await failedStart(p);
    expect(error).toMatchObject({ failureCause: 'version', generation: 1 });
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'startup', cause: 'version', generation: 1 } });
    expect(p.status.failure?.detail).toMatch(/protocol 999/);
    expectBalanced(p);
    await expectServes(other);
  });

  // A5: malformed handshake — garbage instead of a hello, or a valid message that is not a
  // hello → startup/protocol.
  it.each([
    ['garbage', /decode/],
    ['not-hello', /first message must be hello/],
  ] as const)('A5: %s as the first frame is startup/protocol', async (fault, detail) => {
    const h = harness();
    const other = await h.running();
    const p = h.load({ fixture: 'faults', isolation: preloadFault(fault), restart: { policy: 'never' } });
    const error = await failedStart(p);
    expect(error).toMatchObject({ failureCause: 'protocol', generation: 1 });
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'startup', cause: 'protocol', generation: 1 } });
    expect(p.status.failure?.detail).toMatch(detail);
    expectBalanced(p);
    await expectServes(other);
  });

  // A5 (after the handshake): a second hello, written raw on fd 3 by a running plugin,
  // is lost/protocol; the pending call rejects with LostWhileRunning.
  it('A5: a second hello from a running plugin is lost/protocol', async () => {
    const h = harness();
    const other = await h.running();
    const p = await h.running({ fixture: 'faults', restart: { policy: 'never' } });
    const error = await p.send({ op: 'hostile-pipe', kind: 'hello-again' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LostWhileRunning);
    expect(error).toMatchObject({ failureCause: 'protocol', generation: 1 });
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'lost', cause: 'protocol', generation: 1 } });
    expect(p.status.failure?.detail).toMatch(/hello sent twice/);
    expect(p.status.counters).toMatchObject({ accepted: 1, lost: 1 });
    expectBalanced(p);
    await expectServes(other);
  });

  // G7 (environment whitelist): the child sees exactly `isolation.env`; a host variable,
  // secret or not, does not leak.
  it('G7: the child sees only isolation.env, never a host variable', async () => {
    const h = harness();
    const other = await h.running();
    process.env.PLUGIN_SEAM_TEST_SECRET = 'hunter2';
    try {
      const p = await h.running({ fixture: 'faults', isolation: { env: { A: '1' } } });
      expect(await p.send({ op: 'env' })).toEqual(['A']);
      const q = await h.running({ fixture: 'faults', isolation: { env: { A: '1' }, inheritEnv: ['PLUGIN_SEAM_TEST_SECRET'] } });
      expect(await q.send({ op: 'env' })).toEqual(['A', 'PLUGIN_SEAM_TEST_SECRET']);
      expectBalanced(p);
      expectBalanced(q);
      await expectServes(other);
    } finally {
      delete process.env.PLUGIN_SEAM_TEST_SECRET;
    }
  });

  // A daemon the plugin started (detached, so documented to outlive it) inherited the
  // plugin's stdout, stderr and control pipe: after shutdown the host must still let go of
  // them and exit by itself (it could not: two stdio sockets held its event loop for good,
  // and a daemon writing without end kept a host core busy).
  it("lets go of a dead plugin's stdio even when its detached daemon holds them: the host exits", { timeout: 20_000 }, async () => {
    const { code, stdout, stderr } = await runHost('isolated-heir-host.mjs', 10_000);
    const heir = Number(/heir (\d+)/.exec(stdout)?.[1]);
    try {
      expect(code, `host output: ${stdout} ${stderr}`).toBe(0);
      expect(stdout).toContain('shut');
      expect(heir).toBeGreaterThan(0);
    } finally {
      if (heir > 0) {
        try {
          process.kill(heir, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });

  // A plugin process that stopped itself (SIGSTOP) and an application that exits right after
  // shutdown(): the SIGTERM of the teardown stayed pending in the stopped process, the
  // SIGKILL after it never came (the host was gone), and so did the parent-death signal
  // (a handler, which a stopped process does not run): it was left stopped for good.
  it('a plugin process that stopped itself does not outlive an application that exits after shutdown()', { timeout: 20_000 }, async () => {
    const { code, stdout, stderr } = await runHost('isolated-stopped-host.mjs', 15_000);
    const pid = Number(/^pid (\d+)$/m.exec(stdout)?.[1] ?? 0);
    try {
      expect(code, `host output: ${stdout} ${stderr}`).toBe(0);
      expect(pid).toBeGreaterThan(0);
      expect(stdout).toMatch(/^state T$/m);
      await expectEnds(pid, 3_000);
    } finally {
      if (pid > 0 && !hasEnded(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  // G1: the host is SIGKILLed while its isolated plugin busy-loops → the plugin process
  // dies with it (parent-death signal) within 2 s; no orphan spins on. Idle, the plugin
  // process sees its pipe end first (a dying host closes its pipes before the kernel sends
  // the signal) and took its own exit, leaving its child behind: 4 in 46 runs with the
  // addon, every run without it (no parent-death signal at all). It ends its group now.
  it.each([
    ['a busy', 'busy'],
    ['an idle', 'idle'],
  ] as const)('G1: %s plugin process and its own child die within 2 s of its host being SIGKILLed', { timeout: 15_000 }, async (_which, activity) => {
    const host = spawn(process.execPath, [fixturePath('isolated-orphan-host.mjs'), activity], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    host.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      host.on('exit', (_code, signal) => {
        resolve(signal);
      });
    });
    let pluginPid: number | undefined;
    let kinPid: number | undefined;
    try {
      const lines = createInterface({ input: host.stdout });
      const ready = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`the intermediate host did not report a ${activity} plugin in 10 s; stderr: ${stderr}`));
        }, 10_000);
        lines.on('line', (line) => {
          const match = /^pid (\d+)$/.exec(line);
          if (match !== null) pluginPid = Number(match[1]);
          const kin = /^kin (\d+)$/.exec(line);
          if (kin !== null) kinPid = Number(kin[1]);
          if (line === 'spinning' || line === 'idle') {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await ready;
      expect(pluginPid).toBeGreaterThan(0);
      const pid = pluginPid ?? 0;
      // Busy (running): the case where a pipe close alone would never be noticed (E11).
      if (activity === 'busy') await expectState(pid, 'R');
      expect(host.kill('SIGKILL')).toBe(true);
      expect(await exited).toBe('SIGKILL');
      const took = await expectEnds(pid, 2_000);
      expect(took).toBeLessThan(2_000);
      // Its child too (the parent-death signal kills the plugin's whole process group; a
      // plain SIGKILL of the plugin alone left it running, reparented to init).
      expect(kinPid).toBeGreaterThan(0);
      expect(await expectEnds(kinPid ?? 0, 2_000)).toBeLessThan(2_000);
    } finally {
      if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
      // Never leave a spinning orphan behind, even when the test failed.
      for (const leftover of [pluginPid, kinPid]) {
        if (leftover !== undefined && !hasEnded(leftover) && procState(leftover) !== undefined) {
          try {
            process.kill(leftover, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
    }
  });
});
