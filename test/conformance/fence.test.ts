// Generation fencing and teardown settlement: nothing from generation N after N+1 exists,
// and no call stays pending when a generation ends.
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Observable, from, interval, lastValueFrom, map, of, take, toArray } from 'rxjs';
import { LostWhileRunning, RuntimeShutDown } from 'plugin-seam';
import type { PluginInstance, PluginOutput } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { MODES, frame, sendHanging, useHarness } from './harness.js';

describe.each(MODES)('generation fence [%s]', (mode) => {
  const harness = useHarness(mode);

  it('never delivers an output of generation N once N+1 exists', async () => {
    const h = harness();
    const p = await h.running({ restart: { onInputError: 'restart' }, config: { lateEmit: true } });
    const outputs: PluginOutput[] = [];
    p.outputs$.subscribe((o) => outputs.push(o));
    await p.send({ op: 'emit', channel: 'a', values: [1, 2] });
    await p.send({ op: 'throw' }).catch(() => undefined);
    await h.restart(p);
    await p.send({ op: 'emit', channel: 'a', values: [3] });
    let sawTwo = false;
    for (const o of outputs) {
      if (o.generation === 2) sawTwo = true;
      else expect(sawTwo).toBe(false);
    }
    expect(outputs.filter((o) => o.channel === 'late')).toEqual([]);
    expect(outputs.filter((o) => o.channel === 'a').map((o) => [o.value, o.generation])).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
  });

  it('settles every pending call with LostWhileRunning when its generation is lost', async () => {
    const h = harness();
    const p = await h.running({ timeouts: { input: 1_000 }, restart: { policy: 'never' } });
    const { reply: hung } = await sendHanging(p);
    // Out of thread, these may be handed over (pipelined) but are never started.
    const queued = [p.send({ op: 'echo', value: 1 }), p.send({ op: 'echo', value: 2 })].map((r) => r.catch((e: unknown) => e));
    const frames = lastValueFrom(p.connect(of(frame())).pipe(toArray()));
    await waitForStatus(p, (s) => s.counters.accepted === 4);
    h.clock.increment(1_000);
    const error = await hung;
    expect(error).toBeInstanceOf(LostWhileRunning);
    expect(error).toMatchObject({ generation: 1, failureCause: 'unresponsive' });
    // Never handed to the dead generation, then refused by the terminal state: dropped, explicitly.
    for (const e of await Promise.all(queued)) expect(e).toMatchObject({ name: 'InputDropped', reason: 'instance failed (lost: unresponsive)' });
    expect(await frames).toEqual([{ seq: 4, generation: 1, kind: 'dropped', reason: 'instance failed (lost: unresponsive)' }]);
    expect(p.status.counters).toMatchObject({ accepted: 4, lost: 1, dropped: 3, queued: 0, inFlight: 0 });
  });

  it.each([
    { name: 'lost with no restart', options: { timeouts: { input: 1_000 }, restart: { policy: 'never' as const } }, stop: false, reason: 'instance failed (lost: unresponsive)' },
    { name: 'over budget while a stop waits for it', options: { timeouts: { input: 1_000, stop: 60_000 } }, stop: true, reason: 'stopped' },
    {
      name: 'over budget while a stop waits for it, every input waiting on the host',
      options: { timeouts: { input: 1_000, stop: 60_000 }, frames: { overflow: 'drop-oldest' as const, queue: 100 } },
      stop: true,
      reason: 'stopped',
    },
  ])('settles in submission order when a generation ends with inputs in flight and queued ($name)', async ({ options, stop, reason }) => {
    const h = harness();
    const p = await h.running(options);
    const order: number[] = [];
    const { reply: hung } = await sendHanging(p);
    void hung.then(() => order.push(1));
    // Out of thread the first ones are handed over (and, at a stop, revoked); the rest wait in
    // the queue. Each must settle after every input submitted before it.
    const later = Array.from({ length: 80 }, (_, i) => p.send({ op: 'echo', value: i }).catch((e: unknown) => e));
    for (const [i, reply] of later.entries()) void reply.then(() => order.push(i + 2));
    await waitForStatus(p, (s) => s.counters.accepted === 81);
    const stopped = stop ? p.stop().catch((e: unknown) => e) : undefined;
    if (stop) await waitForStatus(p, (s) => s.state === 'stopping');
    h.clock.increment(1_000);
    expect(await hung).toBeInstanceOf(LostWhileRunning);
    // The same reason in every mode, wherever an input waited (handed over or not).
    for (const e of await Promise.all(later)) expect(e).toMatchObject({ name: 'InputDropped', reason });
    await stopped;
    expect(order).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
  });

  it('settles pending calls and acquires on runtime shutdown; nothing stays pending', async () => {
    const h = harness();
    const p = await h.running({ frames: { slots: 1 }, timeouts: { stop: 1_000 } });
    const slot = await p.acquire(4);
    const waitingAcquire = p.acquire(4).catch((e: unknown) => e);
    const { reply: hung } = await sendHanging(p);
    const shutdown = h.runtime.shutdown();
    // The hung input holds the plugin: stop waits for it until the stop deadline.
    h.clock.increment(1_000);
    await shutdown;
    expect(await hung).toBeInstanceOf(LostWhileRunning);
    expect(await waitingAcquire).toBeInstanceOf(RuntimeShutDown);
    slot.release();
    expect(() => h.runtime.load({ id: 'late', module: 'x.mjs' })).toThrow(RuntimeShutDown);
    await expect(p.send({ op: 'echo' })).rejects.toMatchObject({ name: 'InputRefused' });
    expect(p.status.counters.inFlight).toBe(0);
  });

  it('ends every connect() on shutdown: its source is unsubscribed, its outcomes complete; a later connect() completes at once', async () => {
    const h = harness();
    const p = await h.running();
    // A live source that never completes by itself (a camera, a timer).
    let subscribed = 0;
    let unsubscribed = 0;
    let push: (input: ReturnType<typeof frame>) => void = () => undefined;
    const live = new Observable<ReturnType<typeof frame>>((subscriber) => {
      subscribed += 1;
      push = (input) => {
        subscriber.next(input);
      };
      return () => {
        unsubscribed += 1;
      };
    });
    const outcomes = lastValueFrom(p.connect(live).pipe(toArray()));
    push(frame());
    push(frame());
    await h.runtime.shutdown();
    // Each frame it took has its outcome: done, or dropped by the stop if not started yet.
    const kinds = (await outcomes).map((o) => (o.kind === 'done' ? 'done' : o.reason));
    expect([['done', 'done'], ['done', 'stopped'], ['stopped', 'stopped']]).toContainEqual(kinds);
    expect([subscribed, unsubscribed]).toEqual([1, 1]);
    expect(await lastValueFrom(p.connect(live).pipe(toArray()))).toEqual([]);
    expect(subscribed).toBe(1);
  });

  it('says before the first start how frames will reach the plugin', () => {
    const p = harness().load();
    const expected = { inline: ['direct'], embedded: ['shared-memory'], isolated: ['shared-memory', 'copy'] }[p.mode];
    expect(expected).toContain(p.status.transport);
    if (p.mode === 'isolated') expect(p.status.transport).toBe(process.env.PLUGIN_SEAM_NO_ADDON === '1' ? 'copy' : 'shared-memory');
  });

  it('unloads one instance: stopped, its streams complete, its shared memory closed, its id free to load again', async () => {
    const h = harness();
    const other = await h.running({ id: 'other' });
    const memfds = (): number => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('/memfd:');
      } catch {
        return false;
      }
    }).length;
    const before = memfds();
    const p = await h.running({ id: 'gone' });
    expect(await p.send(1)).toBe(1);
    const completed: string[] = [];
    p.status$.subscribe({ complete: () => completed.push('status') });
    p.outputs$.subscribe({ complete: () => completed.push('outputs') });
    await h.runtime.unload('gone');
    expect(p.status.state).toBe('stopped');
    expect(completed).toEqual(['status', 'outputs']);
    expect(h.runtime.instances.map((i) => i.id)).toEqual(['other']);
    // The instance's pool segment (isolated with the addon) is closed with it.
    expect(memfds()).toBe(before);
    // Calls on the unloaded instance say so (the runtime itself is up).
    await expect(p.send(1)).rejects.toMatchObject({ name: 'InputRefused', reason: 'the instance was unloaded' });
    await expect(p.start()).rejects.toMatchObject({ name: 'InvalidState', message: 'cannot start while unloaded', state: 'unloaded' });
    await expect(p.run()).rejects.toMatchObject({ name: 'InvalidState', message: 'cannot run while unloaded' });
    await expect(p.acquire(1)).rejects.toMatchObject({ name: 'InvalidState', message: 'cannot acquire while unloaded' });
    await expect(h.runtime.unload('gone')).rejects.toThrow(/no instance with id "gone" is loaded/);
    const again = await h.running({ id: 'gone' });
    expect(await again.send(4)).toBe(4);
    expect(await other.send(7)).toBe(7);
  });

  it('completes status$, outputs$ and logs$ on shutdown', async () => {
    const h = harness();
    const p = await h.running();
    const completed: string[] = [];
    p.status$.subscribe({ complete: () => completed.push('status') });
    p.outputs$.subscribe({ complete: () => completed.push('outputs') });
    p.logs$.subscribe({ complete: () => completed.push('logs') });
    await h.runtime.shutdown();
    expect(completed.sort()).toEqual(['logs', 'outputs', 'status']);
    expect(p.status.state).toBe('stopped');
    await expect(p.start()).rejects.toMatchObject({ name: 'RuntimeShutDown' });
    await expect(p.send(1)).rejects.toMatchObject({ name: 'InputRefused', reason: 'the runtime has shut down' });
  });

  it('stops instances in reverse load order on shutdown', async () => {
    const h = harness();
    const a = await h.running();
    const b = await h.running();
    const order: string[] = [];
    for (const p of [a, b]) {
      p.status$.subscribe((s) => {
        if (s.state === 'stopping' && !order.includes(p.id)) order.push(p.id);
      });
    }
    await h.runtime.shutdown();
    expect(order).toEqual([b.id, a.id]);
  });

  it('stops every instance at once on shutdown: the longest stop deadline, not their sum', async () => {
    const h = harness();
    const hung: PluginInstance[] = [];
    for (let i = 0; i < 3; i++) hung.push(await h.running({ config: { stop: 'hang' }, timeouts: { stop: 1_000 } }));
    const done = h.runtime.shutdown();
    // One at a time, only the last loaded would be stopping now, the others running.
    for (const p of hung) await waitForStatus(p, (s) => s.state === 'stopping');
    h.clock.increment(1_000);
    await done;
    expect(hung.map((p) => p.status.failure?.cause)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(h.runtime.instances).toEqual([]);
    await expect(hung[0]?.start()).rejects.toMatchObject({ name: 'RuntimeShutDown' });
  });

  it('runs the frame stream across a restart without losing a frame silently', async () => {
    const h = harness();
    const p = await h.running({ restart: { onInputError: 'restart' } });
    const frames$ = interval(0).pipe(
      take(30),
      map((i) => frame({ format: i === 10 ? 'poison' : 'gray', fill: i })),
    );
    const outcomesP = lastValueFrom(p.connect(frames$).pipe(toArray()));
    await waitForStatus(p, (s) => s.state === 'failed');
    await h.restart(p);
    const outcomes = await outcomesP;
    expect(outcomes).toHaveLength(30);
    expect(new Set(outcomes.map((o) => o.seq)).size).toBe(30);
    const bySeq = [...outcomes].sort((x, y) => x.seq - y.seq);
    expect(bySeq[10]).toMatchObject({ kind: 'failed', generation: 1 });
    expect(bySeq.slice(11).every((o) => o.kind === 'done' && o.generation === 2)).toBe(true);
  });
});

describe('generation fence [inline only]', () => {
  const harness = useHarness('inline');

  // Host-side bookkeeping, the same in every mode: run once.
  it('stops with 150,000 frames waiting: every one dropped (stopped), none stranded', async () => {
    const p = await harness().running();
    await p.pause();
    const count = 150_000;
    const data = new Uint8Array(16);
    const finished = lastValueFrom(p.connect(from(Array.from({ length: count }, (_, i) => ({ width: 4, height: 4, format: 'gray', timestamp: i, data })))).pipe(toArray()));
    await waitForStatus(p, (s) => s.counters.accepted === count);
    await p.stop();
    const outcomes = await finished;
    expect(outcomes).toHaveLength(count);
    expect(outcomes.every((o) => o.kind === 'dropped' && o.reason === 'stopped')).toBe(true);
    expect(p.status.counters).toMatchObject({ accepted: count, dropped: count, queued: 0 });
  });

  it('drops and counts a late emit from a generation that has ended', async () => {
    // Only inline can show this: out of thread, the ended generation's worker is gone.
    const h = harness();
    const p = await h.running({ restart: { onInputError: 'restart' }, config: { lateEmit: true } });
    const late: PluginOutput[] = [];
    p.outputs$.subscribe((o) => {
      if (o.channel === 'late') late.push(o);
    });
    await p.send({ op: 'throw' }).catch(() => undefined);
    await h.restart(p);
    // The ended generation emits, then logs, from timers after its abort signal fired: the
    // fence counts both, and status$ publishes each count.
    await waitForStatus(p, (s) => s.counters.stale >= 2);
    expect(late).toEqual([]);
  });
});
