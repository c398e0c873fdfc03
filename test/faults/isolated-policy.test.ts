// Real-process fault tests for isolated mode, part 4: supervision and teardown policy with
// real child processes (restart budget, idempotent stop, host shutdown) and Node's
// permission flag as a seat belt. Deadlines and backoff run on the harness's simulated
// clock, moved only after a handshake (a status the test waited for); only the /proc polls
// use real time, and they are bounded.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filter } from 'rxjs';
import { InputRefused, LostWhileRunning, StartupFailed } from 'plugin-seam';
import type { PluginInstance, PluginOutput } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { useHarness } from '../conformance/harness.js';
import { entering, expectBalanced, expectEnds, expectServes, guardHost } from '../fixtures/faultKit.js';

guardHost();

/** Resolves with `promise`, or fails once `ms` of real time passed (a bound, not a handshake). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not complete within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

async function pidOf(p: PluginInstance): Promise<number> {
  const pid = await p.send({ op: 'pid' });
  expect(typeof pid).toBe('number');
  return pid as number;
}

describe('isolated faults: restart budget, stop, shutdown, permission flag', () => {
  const harness = useHarness('isolated');

  // RELIABILITY.md §5 G3 (restart storm: crash on every start): the startup budget
  // (maxRestarts 2) allows two restarts, the third failed start is terminal with
  // `restart.exhausted`; input is refused explicitly and the host still serves.
  it('G3: a start that always throws exhausts the startup budget and the instance stays failed', async () => {
    const h = harness();
    const other = await h.running();
    const p = h.load({ config: { start: 'throw' }, restart: { startup: { maxRestarts: 2 } } });
    const first = await p.start().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(StartupFailed);
    expect(first).toMatchObject({ failureCause: 'threw', generation: 1 });
    for (const generation of [1, 2]) {
      const failed = await waitForStatus(p, (s) => s.state === 'failed' && s.generation === generation && s.restart?.scheduled === true, 5_000);
      expect(failed).toMatchObject({ failure: { class: 'startup', cause: 'threw', generation }, restart: { exhausted: false } });
      expect(failed.restart?.delayMs).toBeGreaterThan(0);
      h.clock.increment(failed.restart?.delayMs ?? 0);
    }
    const terminal = await waitForStatus(p, (s) => s.state === 'failed' && s.generation === 3 && s.restart?.exhausted === true, 5_000);
    expect(terminal).toMatchObject({
      failure: { class: 'startup', cause: 'threw', generation: 3 },
      restart: { scheduled: false, exhausted: true },
      restarts: 2,
    });
    expect(terminal.failure?.detail).toMatch(/start exploded/);
    // Nothing more is scheduled: moving the clock well past any backoff launches no fourth
    // generation (below the heartbeat deadline, which would end `other`).
    h.clock.increment(30_000);
    await expectServes(other);
    expect(p.status).toMatchObject({ state: 'failed', generation: 3, restart: { exhausted: true } });
    const refused = await p.send({ op: 'echo', value: 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InputRefused);
    expect(p.status.counters).toMatchObject({ accepted: 0, refused: 1 });
    expectBalanced(p);
  });

  // RELIABILITY.md §5 F6 (double stop): two concurrent stop() calls and one after are one
  // teardown: one `stopping`, one `stopped`, the plugin's stop ran once, same generation.
  it('F6: stop() twice concurrently and once after is one teardown of the same generation', async () => {
    const h = harness();
    const p = await h.running();
    const generation = p.status.generation;
    const states: string[] = [];
    const seen = p.status$.subscribe((s) => {
      if (states.at(-1) !== s.state) states.push(s.state);
    });
    const stops: PluginOutput[] = [];
    const outputs = p.outputs$.pipe(filter((o) => o.channel === 'lifecycle')).subscribe((o) => stops.push(o));
    const [a, b] = await Promise.allSettled([p.stop(), p.stop()]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('fulfilled');
    await p.stop();
    seen.unsubscribe();
    outputs.unsubscribe();
    expect(states.filter((s) => s === 'stopping')).toHaveLength(1);
    expect(states.filter((s) => s === 'stopped')).toHaveLength(1);
    expect(stops.map((o) => o.value)).toEqual([{ event: 'stop', generation }]);
    expect(p.status).toMatchObject({ state: 'stopped', generation });
    expectBalanced(p);
  });

  // RELIABILITY.md §5 F7 (host shutdown with N plugins): three isolated instances, the
  // middle one holding a send that never settles. Shutdown asks every stop at once, in
  // reverse load order, waits for the stop deadline on the hanging one (simulated clock; it ends failed,
  // teardown/timeout), fails its pending send with LostWhileRunning, and leaves no child
  // process behind.
  it('F7: shutdown stops three instances in reverse order past a hanging send, and every child ends', async () => {
    const h = harness();
    const stopMs = 1_000;
    const ps = [
      await h.running({ fixture: 'faults', timeouts: { stop: stopMs } }),
      await h.running({ fixture: 'faults', timeouts: { stop: stopMs } }),
      await h.running({ fixture: 'faults', timeouts: { stop: stopMs } }),
    ];
    const pids = await Promise.all(ps.map(pidOf));
    const order: string[] = [];
    const subs = ps.map((p) =>
      p.status$.pipe(filter((s) => ['stopping', 'stopped', 'failed'].includes(s.state))).subscribe((s) => {
        const entry = `${p.id}:${s.state}`;
        if (!order.includes(entry)) order.push(entry);
      }),
    );
    const hanging = ps[1] as PluginInstance;
    const entered = entering(hanging, 'hang');
    const reply = hanging.send({ op: 'hang' }).catch((e: unknown) => e);
    await entered;

    let settled = false;
    const done = h.runtime.shutdown().finally(() => {
      settled = true;
    });
    // Handshake: the hanging instance is stopping, the other two have stopped (on real time:
    // their children answer their stop requests) — before the simulated deadline moves.
    await waitForStatus(hanging, (s) => s.state === 'stopping', 5_000);
    for (const p of [ps[0], ps[2]]) await waitForStatus(p as PluginInstance, (s) => s.state === 'stopped', 5_000);
    // Its stop cannot complete while the call is in flight: only the deadline ends it.
    expect(settled).toBe(false);
    h.clock.increment(stopMs + 1);
    // Bounded: what is left is real processes ending.
    await within(done, 5_000, 'shutdown');
    expect(settled).toBe(true);
    subs.forEach((s) => {
      s.unsubscribe();
    });

    const [p1, p2, p3] = ps.map((p) => p.id);
    // Every stop asked at once, in reverse load order; each ends on its own.
    expect(order.slice(0, 3)).toEqual([`${p3}:stopping`, `${p2}:stopping`, `${p1}:stopping`]);
    expect(new Set(order.slice(3))).toEqual(new Set([`${p3}:stopped`, `${p2}:failed`, `${p1}:stopped`]));
    // The hanging call holds the generation past its stop deadline: a teardown timeout
    // (recorded in the status; shutdown goes on).
    expect(hanging.status).toMatchObject({ state: 'failed', failure: { class: 'teardown', cause: 'timeout', generation: 1 } });
    const error = await reply;
    expect(error).toBeInstanceOf(LostWhileRunning);
    expect(error).toMatchObject({ failureCause: 'timeout', generation: 1, instanceId: hanging.id });
    for (const p of ps) expectBalanced(p);
    for (const pid of pids) await expectEnds(pid);
  });

  // RELIABILITY.md §5 G7 (plugin reads secrets; "permission flags as a seat belt"): with
  // `isolation.permission: true` the plugin still starts and reads its own module, while a
  // read outside the runtime and the plugin's directory fails with ERR_ACCESS_DENIED.
  it('G7: with the permission flag a read outside the package is ERR_ACCESS_DENIED, the plugin still works', async () => {
    const h = harness();
    const p = await h.running({ fixture: 'permission', isolation: { permission: true } });
    expect(await p.send({ op: 'echo', value: 'up' })).toBe('up');
    expect(await p.send({ op: 'read-self' })).toMatchObject({ ok: true });
    expect(await p.send({ op: 'read', path: '/etc/hostname' })).toMatchObject({ ok: false, code: 'ERR_ACCESS_DENIED' });
    expect(await p.send({ op: 'read', path: '/etc/passwd' })).toMatchObject({ ok: false, code: 'ERR_ACCESS_DENIED' });
    // Without the flag the same read is allowed (the denial comes from the flag).
    const open = await h.running({ fixture: 'permission' });
    expect(await open.send({ op: 'read', path: '/etc/passwd' })).toMatchObject({ ok: true });
    expect(p.status).toMatchObject({ state: 'running', generation: 1 });
    expectBalanced(p);
  });

  // Every path listed is readable, and writable where listed, not just the first: Node takes
  // one path per flag (a comma-separated list was read as one path, so only the first entry
  // of `allowFsRead` worked — and the runtime's own, sharing a prefix with an application's
  // node_modules, hid the child's dependencies once installed).
  it('G7: every path of allowFsRead and allowFsWrite is allowed, and nothing else', async () => {
    const h = harness();
    const base = mkdtempSync(join(tmpdir(), 'seam-permission-'));
    try {
      const dirs = ['one', 'two', 'three'].map((name) => {
        const dir = join(base, name);
        mkdirSync(dir);
        writeFileSync(join(dir, 'file'), name);
        return dir;
      });
      const [one = '', two = '', three = ''] = dirs;
      const p = await h.running({
        fixture: 'permission',
        isolation: { permission: { allowFsRead: [`${one}/*`, `${two}/*`], allowFsWrite: [`${one}/*`, `${two}/*`] } },
      });
      expect(await p.send({ op: 'read', path: join(one, 'file') })).toMatchObject({ ok: true });
      expect(await p.send({ op: 'read', path: join(two, 'file') })).toMatchObject({ ok: true });
      expect(await p.send({ op: 'read', path: join(three, 'file') })).toMatchObject({ ok: false, code: 'ERR_ACCESS_DENIED' });
      expect(await p.send({ op: 'write', path: join(two, 'out') })).toMatchObject({ ok: true });
      expect(await p.send({ op: 'write', path: join(three, 'out') })).toMatchObject({ ok: false, code: 'ERR_ACCESS_DENIED' });
      expect(await p.send({ op: 'read-self' })).toMatchObject({ ok: true });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
