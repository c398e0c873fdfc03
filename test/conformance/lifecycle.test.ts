// Lifecycle conformance: the same story in every mode.
import { describe, expect, it } from 'vitest';
import { lastValueFrom, of, toArray } from 'rxjs';
import {
  InputRefused,
  InvalidState,
  RestartBudgetExhausted,
  InvalidOptions,
  InvalidPlugin,
  StartCancelled,
  StartupFailed,
  TeardownFailed,
} from 'plugin-seam';
import type { PluginOutput } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { MODES, frame, useHarness } from './harness.js';

describe.each(MODES)('lifecycle [%s]', (mode) => {
  const harness = useHarness(mode);

  it('walks loaded → starting → started → running ⇄ started → stopping → stopped', async () => {
    const h = harness();
    const p = h.load();
    const states: string[] = [];
    p.status$.subscribe((s) => {
      if (states.at(-1) !== s.state) states.push(s.state);
    });
    const lifecycle: unknown[] = [];
    p.outputs$.subscribe((o) => {
      if (o.channel === 'lifecycle') lifecycle.push(o.value);
    });
    expect(p.status.state).toBe('loaded');
    expect(p.status.generation).toBe(0);
    await p.start();
    expect(p.status.state).toBe('started');
    expect(p.status.generation).toBe(1);
    await p.run();
    await p.pause();
    await p.run();
    await p.stop();
    expect(states).toEqual(['loaded', 'starting', 'started', 'running', 'started', 'running', 'stopping', 'stopped']);
    expect(lifecycle).toEqual([
      { event: 'start', generation: 1 },
      { event: 'stop', generation: 1 },
    ]);
    expect(p.status.mode).toBe(mode);
  });

  it('never hands a subscriber the same status twice in a row: through traffic, a restart, a stop and the shutdown', async () => {
    const h = harness();
    const p = h.load({ restart: { onInputError: 'restart' } });
    const seen: string[] = [];
    p.status$.subscribe((s) => seen.push(JSON.stringify(s)));
    await p.start();
    await p.run();
    await Promise.all([p.send({ op: 'echo', value: 1 }), p.send({ op: 'echo', value: 2 })]);
    // A subscriber added mid-burst: handed the status of the moment, then only changes.
    const late: string[] = [];
    const echoed = p.send({ op: 'echo', value: 3 });
    p.status$.subscribe((s) => late.push(JSON.stringify(s)));
    await echoed;
    await p.send({ op: 'throw' }).catch(() => undefined);
    await h.restart(p);
    await p.send({ op: 'echo', value: 4 });
    await p.stop();
    await h.runtime.shutdown();
    const repeats = (statuses: string[]): number[] => statuses.flatMap((s, i) => (i > 0 && s === statuses[i - 1] ? [i] : []));
    expect(seen.length).toBeGreaterThan(8);
    expect(repeats(seen)).toEqual([]);
    expect(late.length).toBeGreaterThan(3);
    expect(repeats(late)).toEqual([]);
    expect(JSON.parse(seen.at(-1) ?? '{}')).toMatchObject({ state: 'stopped', generation: 2, counters: { done: 4, failed: 1 } });
  });

  it("hands out frozen statuses: an application's edit cannot reach the lifecycle's own records", async () => {
    const p = await harness().running({ restart: { onInputError: 'restart', policy: 'never' } });
    const edits: unknown[] = [];
    p.status$.subscribe((s) => {
      if (s.failure === undefined) return;
      try {
        (s.failure as { cause: string }).cause = 'annotated';
      } catch (error) {
        edits.push(error);
      }
    });
    await p.send({ op: 'throw' }).catch(() => undefined);
    const failed = await waitForStatus(p, (s) => s.state === 'failed');
    expect(edits[0]).toBeInstanceOf(TypeError);
    for (const frozen of [failed, failed.failure, failed.lastFailure, failed.counters, failed.restart]) expect(Object.isFrozen(frozen)).toBe(true);
    expect(p.status.failure).toMatchObject({ class: 'lost', cause: 'threw', generation: 1 });
  });

  it('makes start, run, pause and stop idempotent', async () => {
    const p = harness().load();
    await Promise.all([p.start(), p.start()]);
    await p.start();
    await Promise.all([p.run(), p.run()]);
    await p.pause();
    await p.pause();
    await Promise.all([p.stop(), p.stop()]);
    await p.stop();
    expect(p.status.state).toBe('stopped');
    expect(p.status.generation).toBe(1);
  });

  it('refuses run and pause before start with InvalidState', async () => {
    const p = harness().load();
    await expect(p.run()).rejects.toBeInstanceOf(InvalidState);
    await expect(p.pause()).rejects.toBeInstanceOf(InvalidState);
  });

  it('can be started again after a stop, as a new generation with fresh budgets', async () => {
    const p = harness().load();
    await p.start();
    await p.stop();
    await p.start();
    expect(p.status.generation).toBe(2);
    // Started but not running: the message waits in the queue until run().
    const reply = p.send({ op: 'generation' });
    expect(p.status.counters.queued).toBe(1);
    await p.run();
    expect(await reply).toBe(2);
  });

  it.each(['throw', 'reject'] as const)('classifies start that %ss as startup/threw', async (behaviour) => {
    const p = harness().load({ config: { start: behaviour }, restart: { policy: 'never' } });
    const error = await p.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupFailed);
    expect(error).toMatchObject({ code: 'ERR_STARTUP_FAILED', failureCause: 'threw', generation: 1, instanceId: p.id });
    expect((error as StartupFailed).detail).toMatch(behaviour === 'throw' ? /start exploded/ : /start rejected/);
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'startup', cause: 'threw', generation: 1 } });
    expect(p.status.restart).toEqual({ scheduled: false, delayMs: 0, exhausted: false });
  });

  it("gives StartupFailed what the plugin's start threw as its cause: name, code, message, stack and cause chain", async () => {
    const p = harness().load({ config: { start: 'throw-named' }, restart: { policy: 'never' } });
    const error = await p.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupFailed);
    const thrown = (error as StartupFailed).cause;
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({ name: 'ConfigError', code: 'EBADCONF', message: 'start exploded' });
    expect((thrown as Error).stack).toMatch(/behaviour\.mjs/);
    expect((thrown as Error).cause).toBeInstanceOf(TypeError);
    expect((thrown as Error).cause).toMatchObject({ message: 'the root of it' });
  });

  it.each(['throw-cyclic', 'throw-deep'])('fails a start that threw a value the host cannot take (%s) all the same, as startup/threw (isolated: without the value)', async (start) => {
    const p = harness().load({ config: { start }, restart: { policy: 'never' } });
    const error = await p.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupFailed);
    expect(error).toMatchObject({ failureCause: 'threw', generation: 1 });
    const thrown = (error as StartupFailed).cause as { reason?: string; self?: unknown; v?: unknown } | undefined;
    // A cycle, or 64 levels inside the reply, is cloned inline and embedded; an isolated child
    // may not send one (README): the gate would have killed it, the start then `protocol`.
    if (mode === 'isolated') expect(thrown).toBeUndefined();
    else if (start === 'throw-cyclic') expect(thrown?.self).toBe(thrown);
    else expect(thrown?.v).toBeDefined();
    expect(p.status.failure).toMatchObject({ class: 'startup', cause: 'threw' });
  });

  it('fails a start that threw a huge error as startup/threw, its detail cut alike in every mode (isolated: without the value)', async () => {
    const p = harness().load({ config: { start: 'throw-huge' }, restart: { policy: 'never' } });
    const error = await p.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupFailed);
    expect(error).toMatchObject({ failureCause: 'threw', generation: 1 });
    const detail = (error as StartupFailed).detail ?? '';
    expect(detail.startsWith('Error: huge xxx')).toBe(true);
    expect(detail.endsWith(' … (cut)')).toBe(true);
    expect(detail.length).toBe(256 * 1024 + ' … (cut)'.length);
    // Out of process a reply is at most 1 MiB: the value itself stays behind (README).
    const thrown = (error as StartupFailed).cause as Error | undefined;
    if (mode === 'isolated') expect(thrown).toBeUndefined();
    else expect(thrown?.message.length).toBe(600_005);
  });

  it('classifies a start that never settles as startup/timeout after the start deadline', async () => {
    const h = harness();
    const p = h.load({ config: { start: 'hang' }, restart: { policy: 'never' }, timeouts: { start: 2_000 } });
    const lifecycle: unknown[] = [];
    p.outputs$.subscribe((o) => lifecycle.push(o.value));
    const started = p.start().catch((e: unknown) => e);
    // Handshake: the plugin announces it is inside start() before hanging.
    await waitForStatus(p, (s) => s.counters.outputs === 1);
    h.clock.increment(1_999);
    expect(p.status.state).toBe('starting');
    h.clock.increment(1);
    const error = await started;
    expect(error).toBeInstanceOf(StartupFailed);
    expect(error).toMatchObject({ failureCause: 'timeout', generation: 1 });
    expect(p.status.failure).toMatchObject({ class: 'startup', cause: 'timeout' });
  });

  it('retries a failed start after a backoff and recovers', async () => {
    const h = harness();
    const p = h.load({ config: { start: 'fail-first' } });
    await expect(p.start()).rejects.toBeInstanceOf(StartupFailed);
    const up = await h.restart(p);
    expect(up).toMatchObject({ state: 'started', generation: 2, restarts: 1 });
    expect(up.lastFailure).toMatchObject({ class: 'startup', generation: 1 });
    expect(up.failure).toBeUndefined();
  });

  it('gives up after the startup budget with RestartBudgetExhausted, and refuses input', async () => {
    const h = harness();
    const p = h.load({ config: { start: 'throw' }, restart: { startup: { maxRestarts: 2 } } });
    await expect(p.start()).rejects.toBeInstanceOf(StartupFailed);
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await waitForStatus(p, (s) => s.state === 'failed' && s.restart?.scheduled === true);
      h.clock.increment(failed.restart?.delayMs ?? 0);
    }
    const final = await waitForStatus(p, (s) => s.state === 'failed' && s.generation === 3);
    expect(final.restart).toEqual({ scheduled: false, delayMs: 0, exhausted: true });
    expect(final.failure).toMatchObject({ class: 'startup', generation: 3 });
    await expect(p.run()).rejects.toBeInstanceOf(InvalidState);
    await expect(p.send({ op: 'echo' })).rejects.toBeInstanceOf(InputRefused);
    // A manual start is the operator's decision: fresh budgets, a new generation.
    const again = await p.start().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(StartupFailed);
    expect(p.status.generation).toBe(4);
  });

  it('settles a run() that a later pause() overrode, from starting: the instance comes up paused', async () => {
    const p = harness().load();
    const started = p.start();
    const running = p.run().catch((e: unknown) => e);
    const paused = p.pause();
    await Promise.all([started, paused]);
    const error = await running;
    expect(error).toBeInstanceOf(InvalidState);
    expect((error as InvalidState).message).toBe('cannot run while started: a pause() came after it');
    expect(p.status.state).toBe('started');
    // A run() after that is obeyed as usual.
    await p.run();
    expect(p.status.state).toBe('running');
  });

  it('judges a start() called from a status callback by the start it asks for, not by the state it was called in', async () => {
    const h = harness();
    const p = await h.running();
    const restarted: Promise<unknown>[] = [];
    // A supervisor of the application's own: start again whenever the instance stops.
    const subscription = p.status$.subscribe((status) => {
      if (status.state === 'stopped' && restarted.length === 0) {
        restarted.push(
          p.start().then(
            () => 'started',
            (e: unknown) => e,
          ),
        );
      }
    });
    await p.stop().catch(() => undefined);
    await waitForStatus(p, () => restarted.length > 0);
    expect(await restarted[0]).toBe('started');
    expect(p.status).toMatchObject({ state: 'started', generation: 2 });
    subscription.unsubscribe();
    // And a stop() from a callback, judged by the stop it asks for.
    const stopped: Promise<unknown>[] = [];
    const second = p.status$.subscribe((status) => {
      if (status.state === 'started' && stopped.length === 0) stopped.push(p.stop().then(() => 'stopped'));
    });
    await waitForStatus(p, () => stopped.length > 0);
    expect(await stopped[0]).toBe('stopped');
    second.unsubscribe();
  });

  it.each(['pause', 'stop'] as const)('resolves a run() that took the instance to running, though a status callback then calls %s()', async (then) => {
    const p = await harness().running();
    await p.pause();
    let reacted = false;
    const subscription = p.status$.subscribe((status) => {
      if (status.state !== 'running' || reacted) return;
      reacted = true;
      void (then === 'pause' ? p.pause() : p.stop());
    });
    await p.run();
    subscription.unsubscribe();
    expect(reacted).toBe(true);
    await waitForStatus(p, (s) => s.state === (then === 'pause' ? 'started' : 'stopped'));
  });

  it('refuses a start() once runtime.unload() has begun: nothing launches while the instance is being ended', async () => {
    const h = harness();
    const p = h.load({ id: 'leaving' });
    const unloading = h.runtime.unload('leaving');
    const start = await p.start().catch((e: unknown) => e);
    expect(start).toBeInstanceOf(InvalidState);
    expect((start as InvalidState).state).toBe('unloaded');
    await unloading;
    expect(p.status.state).not.toBe('starting');
    expect(p.status.generation).toBe(0);
  });

  it('rejects a run() that waits through restarts with RestartBudgetExhausted', async () => {
    const h = harness();
    const p = h.load({ config: { start: 'throw' }, restart: { startup: { maxRestarts: 1 } } });
    await expect(p.start()).rejects.toBeInstanceOf(StartupFailed);
    const running = p.run().catch((e: unknown) => e);
    const failed = await waitForStatus(p, (s) => s.state === 'failed' && s.restart?.scheduled === true);
    h.clock.increment(failed.restart?.delayMs ?? 0);
    expect(await running).toBeInstanceOf(RestartBudgetExhausted);
  });

  it('refuses a frame pool above 4 GiB at load, naming it and the instance, in every mode', () => {
    const h = harness();
    // Out of thread one shared buffer holds every slot, and spans at most 4 GiB; inline took
    // the same options, so a deployment could not move between modes.
    const load = (): unknown => h.load({ id: 'huge', frames: { slots: 8, maxFrameBytes: 1024 * 1024 * 1024 } });
    expect(load).toThrow(InvalidOptions);
    expect(load).toThrow(/^frames\.slots × frames\.maxFrameBytes: 8 slots of 1073741824 bytes take 8589934592 bytes, above the 4294967296 \(4 GiB\) a frame pool holds — fewer slots, or a smaller maxFrameBytes \(instance "huge"\)$/);
    expect(() => h.load({ id: 'huge' , frames: { slots: 4, maxFrameBytes: 1024 * 1024 * 1024 + 1 } })).toThrow(/4 slots of 1073741825 bytes take 4294967552 bytes/);
  });

  it('waitForStatus says an instance was unloaded, at once, instead of timing out', async () => {
    const h = harness();
    const p = await h.running({ id: 'going' });
    const waiting = waitForStatus(p, (s) => s.generation === 99, 10_000).catch((e: unknown) => e);
    await h.runtime.unload('going');
    const t0 = performance.now();
    const error = await waiting;
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect((error as Error).message).toMatch(/^waitForStatus\(going\): its status\$ completed \(unloaded, or its runtime shut down\) before the condition was met; last status: /);
  });

  it('names the instance in a refusal of its id or its config', () => {
    const h = harness();
    h.load({ id: 'twice' });
    const refusal = (options: Parameters<typeof h.load>[0]): unknown => {
      try {
        h.load(options);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(refusal({ id: 'twice' })).toMatchObject({ name: 'InvalidOptions', instanceId: 'twice', message: 'an instance with id "twice" is already loaded' });
    expect(refusal({ id: 'fn-config', config: { f: () => 1 } })).toMatchObject({ name: 'InvalidOptions', instanceId: 'fn-config' });
  });

  it('cancels a start still in progress when stop is requested', async () => {
    const h = harness();
    const p = h.load({ config: { start: 'hang' }, timeouts: { stop: 1_000 } });
    const started = p.start().catch((e: unknown) => e);
    await waitForStatus(p, (s) => s.counters.outputs === 1);
    const stopped = p.stop().catch((e: unknown) => e);
    expect(await started).toBeInstanceOf(StartCancelled);
    // The hanging start holds the generation: the stop deadline forces it out.
    h.clock.increment(1_000);
    const error = await stopped;
    expect(error).toBeInstanceOf(TeardownFailed);
    expect(error).toMatchObject({ failureCause: 'timeout', generation: 1 });
    expect(p.status.generation).toBe(1);
  });

  it('classifies a start that fails after a stop was asked as teardown/threw, once, not as a clean stop', async () => {
    const h = harness();
    const p = h.load({ config: { start: 'wait-throw', startWaitMs: 200 } });
    const started = p.start().catch((e: unknown) => e);
    await waitForStatus(p, (s) => s.counters.outputs === 1);
    const error = await p.stop().catch((e: unknown) => e);
    expect(await started).toBeInstanceOf(StartCancelled);
    expect(error).toBeInstanceOf(TeardownFailed);
    expect(error).toMatchObject({ failureCause: 'threw', generation: 1 });
    expect((error as TeardownFailed).detail).toMatch(/start exploded late/);
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'teardown', cause: 'threw', generation: 1 } });
    expect(p.status.restart?.scheduled).toBe(false);
  });

  it('drops what the plugin emits or logs after its stop() returned, in every mode', async () => {
    const h = harness();
    for (let run = 0; run < 3; run++) {
      const p = await h.running({ config: { emitAfterStop: true } });
      const late: string[] = [];
      p.outputs$.subscribe((o) => {
        if (o.channel === 'after-stop') late.push(`output in ${p.status.state}`);
      });
      p.logs$.subscribe((l) => {
        if (l.message === 'after stop') late.push(`log in ${p.status.state}`);
      });
      await p.stop();
      if (h.mode === 'inline') {
        // Handshake: inline, the timer's emit and log are counted stale once they happened.
        await waitForStatus(p, (s) => s.counters.stale >= 2);
      } else {
        // Out of thread nothing comes back to wait for (that is the point): a bounded settle
        // in which a late post, before the fix, reached outputs$.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(late).toEqual([]);
    }
  });

  it('classifies a stop that throws as teardown/threw, and the instance can start again', async () => {
    const h = harness();
    const p = await h.running({ config: { stop: 'throw' } });
    const error = await p.stop().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TeardownFailed);
    expect(error).toMatchObject({ code: 'ERR_TEARDOWN_FAILED', failureCause: 'threw', generation: 1 });
    expect((error as TeardownFailed).cause).toMatchObject({ message: 'stop exploded' });
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'teardown', cause: 'threw' } });
    expect(p.status.restart?.scheduled).toBe(false);
    await p.start();
    expect(p.status).toMatchObject({ state: 'started', generation: 2 });
  });

  it('classifies a stop that never settles as teardown/timeout after the stop deadline', async () => {
    const h = harness();
    const p = await h.running({ config: { stop: 'hang' }, timeouts: { stop: 3_000 } });
    const stopped = p.stop().catch((e: unknown) => e);
    await waitForStatus(p, (s) => s.state === 'stopping' && s.counters.outputs === 2);
    h.clock.increment(3_000);
    const error = await stopped;
    expect(error).toBeInstanceOf(TeardownFailed);
    expect(error).toMatchObject({ failureCause: 'timeout', generation: 1 });
    expect(p.status.failure).toMatchObject({ class: 'teardown', cause: 'timeout' });
  });

  it('reports a module without a default export, or with a bad shape, as a startup failure', async () => {
    const h = harness();
    for (const name of ['no-default', 'bad-shape']) {
      const p = h.load({ fixture: name, restart: { policy: 'never' } });
      const error = await p.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StartupFailed);
      expect((error as StartupFailed).detail).toMatch(name === 'no-default' ? /no default export/ : /unknown property "onframe"/);
      // The runtime's own refusal, as its own class in every mode (a plain Error out of thread).
      expect((error as StartupFailed).cause).toBeInstanceOf(InvalidPlugin);
      expect((error as StartupFailed).cause).toMatchObject({ code: 'ERR_INVALID_PLUGIN', message: expect.stringMatching(name === 'no-default' ? /no default export/ : /unknown property "onframe"/) as unknown });
    }
  });

  it("keeps the import's failure as the cause of the runtime's refusal of a module", async () => {
    const p = harness().load({ fixture: 'does-not-exist', restart: { policy: 'never' } });
    const error = await p.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupFailed);
    expect((error as StartupFailed).cause).toBeInstanceOf(InvalidPlugin);
    // Its cause, the import's own error, crosses too (as an Error out of thread).
    expect(((error as StartupFailed).cause as InvalidPlugin).cause).toBeInstanceOf(Error);
  });

  it('keeps the same instance and subscriptions across a restart', async () => {
    const h = harness();
    const p = await h.running({ restart: { onInputError: 'restart' } });
    const outputs: PluginOutput[] = [];
    p.outputs$.subscribe((o) => outputs.push(o));
    await p.send({ op: 'emit', channel: 'x', values: [1] });
    await expect(p.send({ op: 'throw' })).rejects.toThrow(/message handler threw/);
    const up = await h.restart(p);
    expect(up).toMatchObject({ state: 'running', generation: 2, restarts: 1 });
    expect(up.lastFailure).toMatchObject({ class: 'lost', cause: 'threw', generation: 1 });
    await p.send({ op: 'emit', channel: 'x', values: [2] });
    const xs = outputs.filter((o) => o.channel === 'x');
    expect(xs.map((o) => [o.value, o.generation])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(h.runtime.instances).toEqual([p]);
  });

  it('returns to paused (started) after a restart when it was paused', async () => {
    const h = harness();
    const p = await h.running({ restart: { onInputError: 'restart' } });
    const failing = p.send({ op: 'throw' }).catch(() => undefined);
    await failing;
    await waitForStatus(p, (s) => s.state === 'failed');
    await p.pause();
    const up = await h.restart(p);
    expect(up.state).toBe('started');
  });

  it('replays the current status to every new subscriber', async () => {
    const p = await harness().running();
    const seen: string[] = [];
    p.status$.subscribe((s) => seen.push(s.state)).unsubscribe();
    expect(seen).toEqual(['running']);
  });

  it('refuses input after stop, explicitly', async () => {
    const p = await harness().running();
    await p.stop();
    await expect(p.send({ op: 'echo', value: 1 })).rejects.toMatchObject({ name: 'InputRefused', code: 'ERR_INPUT_REFUSED' });
    const outcomes = await lastValueFrom(p.connect(of(frame())).pipe(toArray()));
    expect(outcomes).toEqual([{ seq: 2, generation: 1, kind: 'dropped', reason: 'refused: instance is stopped' }]);
    expect(p.status.counters).toMatchObject({ refused: 2, accepted: 0 });
  });
});
