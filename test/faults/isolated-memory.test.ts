// Real-process fault tests for isolated mode, part 6: the shared memory a plugin process
// can write (RELIABILITY.md §5 E3–E6, E8). The fixture maps its own segments a second time
// and writes into them — from a worker thread flipping words as fast as it can, over frame
// slots it already handed back, into ring entries it never publishes — or leaves the
// consumer index standing. The host must keep serving or end the generation as
// lost/protocol, never crash, never read out of range, never deliver what it did not
// validate, and account for every accepted frame. Deadlines run on the harness's simulated
// clock; process ends are checked through /proc with bounded polls.
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReplaySubject, Subject, firstValueFrom, from, lastValueFrom, take, timeout, toArray } from 'rxjs';
import type { FrameInput, FrameOutcome, PluginInstance, PluginOutput } from 'plugin-seam';
import { LostWhileRunning } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { frame, useHarness } from '../conformance/harness.js';
import { entering, expectBalanced, expectEnds, expectServes, guardHost } from '../fixtures/faultKit.js';
import { SHARED_MEMORY } from './sharedMemory.js';

guardHost();

async function pidOf(p: PluginInstance): Promise<number> {
  const pid = await p.send({ op: 'pid' });
  expect(typeof pid).toBe('number');
  return pid as number;
}

/** Outputs of `p` on `channel`, collected from now on. */
function collect(p: PluginInstance, channel: string): { readonly values: unknown[]; stop(): void } {
  const values: unknown[] = [];
  const sub = p.outputs$.subscribe((o: PluginOutput) => {
    if (o.channel === channel) values.push(o.value);
  });
  return {
    values,
    stop: () => {
      sub.unsubscribe();
    },
  };
}

/** What the fixture emits for each frame it handles. */
interface FrameReport {
  readonly seq: number;
  readonly length: number;
  readonly sum: number;
  readonly view?: Uint8Array;
}

/** `count` frames of `length` bytes, frame i filled with `fill(i)`. */
function frames(count: number, length: number, fill: (i: number) => number): FrameInput[] {
  return Array.from({ length: count }, (_, i) => frame({ fill: fill(i), length }));
}

/** Connects `inputs` to `p` and waits for every outcome. */
function feed(p: PluginInstance, inputs: readonly FrameInput[]): Promise<FrameOutcome[]> {
  return lastValueFrom(p.connect(from(inputs)).pipe(toArray()));
}

/** Descriptors of this process that point at one of the runtime's memfd segments. */
function openSegmentFds(): string[] {
  return readdirSync('/proc/self/fd').filter((entry) => {
    try {
      return readlinkSync(`/proc/self/fd/${entry}`).startsWith('/memfd:plugin-seam');
    } catch {
      return false; // the directory handle itself, or an fd closed meanwhile
    }
  });
}

const devShm = (): string[] => readdirSync('/dev/shm').filter((name) => /seam/i.test(name));

// Every row but E6's torn pipe frame attacks the shared segments: without the addon (copy
// transport) there are none, and the rows are skipped (see sharedMemory.ts).
describe.skipIf(!SHARED_MEMORY)('isolated faults: hostile shared memory', () => {
  const harness = useHarness('isolated');

  // E3 (TOCTOU): a worker thread inside the plugin process flips words the host reads from
  // shared memory, as fast as it can, while 300 frames flow. The descriptors of the complete
  // ring (each word between a valid and an invalid value), its producer counter, the submit
  // ring's consumer counter: the host reads each word once and validates that copy, so it
  // either keeps serving or ends the generation as lost/protocol ("ring: …") — never a
  // crash (guardHost), never an out-of-range read (it would throw into the host), never a
  // frame settled twice. The control words (heartbeat, started, external memory) and the
  // park word the host sleeps on carry no index: flipping them must not stop the service
  // (a park word held at "not parked" must not turn the host's wait into a busy loop that
  // starves its event loop). Every output the application sees is one the plugin emitted
  // for a frame it was given, with that frame's bytes.
  it.each([
    ['complete-descriptors', 'serves or protocol'],
    ['complete-tail', 'serves or protocol'],
    ['submit-head', 'serves or protocol'],
    ['control', 'serves'],
    ['park-zero', 'serves'],
  ] as const)('E3: a worker flipping %s while the host consumes', async (target, expected) => {
    const h = harness();
    const other = await h.running();
    const p = await h.running({ fixture: 'hostile-shm', restart: { policy: 'never' }, frames: { maxFrameBytes: 4096 } });
    expect(p.status.transport).toBe('shared-memory');
    const pid = await pidOf(p);
    const reports = collect(p, 'frame');
    const flipping = await p.send({ op: 'flip', target }).catch((error: unknown) => error);
    if (flipping !== 'flipping') {
      // The host may catch the flipper before the reply is in: it reads the ring before it
      // applies a result that came by message (results settle in the order they were made).
      expect(expected).toBe('serves or protocol');
      expect(flipping).toBeInstanceOf(LostWhileRunning);
      expect(flipping).toMatchObject({ failureCause: 'protocol' });
    }
    const FRAMES = 300;
    const inputs = frames(FRAMES, 1024, (i) => (i % 250) + 1);
    const outcomes = await feed(p, inputs);
    reports.stop();
    const state = p.status.state;
    const kinds = outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [o.kind]: (acc[o.kind] ?? 0) + 1 }), {});
    console.log(`E3 ${target}: ${state}${p.status.failure === undefined ? '' : ` (${p.status.failure.cause}: ${p.status.failure.detail ?? ''})`}; outcomes ${JSON.stringify(kinds)}`);
    expect(outcomes).toHaveLength(FRAMES);
    expect(new Set(outcomes.map((o) => o.seq)).size).toBe(FRAMES);
    if (expected === 'serves') {
      expect(state).toBe('running');
      expect(outcomes.every((o) => o.kind === 'done')).toBe(true);
      expect(await p.send({ op: 'echo', value: 'still serving' })).toBe('still serving');
    } else if (state === 'running') {
      // Not caught (yet: the flipper keeps going, and a later read may still catch it).
      expect(outcomes.every((o) => o.kind === 'done')).toBe(true);
    } else {
      expect(p.status.failure).toMatchObject({ class: 'lost', cause: 'protocol', generation: 1 });
      expect(p.status.failure?.detail).toMatch(/^ring: /);
      expect(outcomes.every((o) => o.kind === 'done' || o.kind === 'lost' || o.kind === 'dropped')).toBe(true);
      await expectEnds(pid);
    }
    // Each output names a frame the application sent (seqs are consecutive from the first
    // frame's), with the bytes it sent.
    const firstSeq = Math.min(...outcomes.map((o) => o.seq));
    for (const value of reports.values as FrameReport[]) {
      const index = value.seq - firstSeq;
      expect(index >= 0 && index < FRAMES).toBe(true);
      expect(value).toMatchObject({ length: 1024, sum: ((index % 250) + 1) * 1024 });
    }
    expectBalanced(p);
    await expectServes(other);
  });

  // E4: the plugin keeps a view of its first frame after onFrame returned (a slot it handed
  // back) and a worker thread writes 0xEE over it, and over every frame slot, for ever —
  // the host→plugin buffers included. What the application holds stays intact: the output
  // value it received (a view of the slot when the plugin emitted it) is a private copy the
  // writes cannot reach; its own frame buffers, which the runtime copied into slots, are
  // untouched; another instance fed the same frames (its own slots) sees the right bytes;
  // and once the scribbling generation has ended, the frames the host writes next reach the
  // plugin with the right bytes, in the very slots the scribbler wrote over. (While it runs,
  // the plugin can still corrupt frames addressed to itself: the child maps the slots
  // read-write. A read-only mapping would need the addon to seal the memfd against new
  // writable mappings (F_SEAL_FUTURE_WRITE) once the host has mapped it.)
  // The guest's own park word says how the host should wake it (pipe doorbell or futex).
  // Held at 1, every ring costs the host one doorbell frame and the guest keeps being served;
  // held at 2, the host's futex wakes reach no one while the guest sleeps on its event loop,
  // so its frames wait (a stall of its own making) — but the host stays responsive, serves
  // another instance, and a message still gets through (and takes the stuck frames along).
  it('E3: a worker holding its own park word at "parked on the event loop" is still served', async () => {
    const h = harness();
    const p = await h.running({ fixture: 'hostile-shm', restart: { policy: 'never' }, frames: { maxFrameBytes: 4096 } });
    expect(await p.send({ op: 'flip', target: 'submit-park-async' })).toBe('flipping');
    const outcomes = await feed(p, frames(200, 1024, (i) => (i % 250) + 1));
    expect(outcomes.map((o) => o.kind)).toEqual(new Array(200).fill('done'));
    expect(p.status.state).toBe('running');
  });

  it('E3: a worker holding its own park word at "blocking" stalls only its own frames', async () => {
    const h = harness();
    const other = await h.running();
    const p = await h.running({ fixture: 'hostile-shm', restart: { policy: 'never' }, frames: { maxFrameBytes: 4096 } });
    expect(await p.send({ op: 'flip', target: 'submit-park-blocking' })).toBe('flipping');
    const outcomes = feed(p, frames(20, 1024, (i) => i + 1));
    await expectServes(other);
    // A message ends the guest's sleep on its event loop; it drains the frames with it.
    expect(await p.send({ op: 'echo', value: 'awake' })).toBe('awake');
    expect((await outcomes).map((o) => o.kind)).toEqual(new Array(20).fill('done'));
    expect(p.status.state).toBe('running');
  });

  it('E4: writes into a handed-back slot and over every slot do not reach what the application holds', async () => {
    const h = harness();
    const slots = { maxFrameBytes: 4096, slots: 4, queue: 2 };
    const other = await h.running({ fixture: 'hostile-shm', frames: slots });
    const p = await h.running({ fixture: 'hostile-shm', config: { keepFirst: true, emitView: true }, frames: slots });
    const pid = await pidOf(p);
    const reports = collect(p, 'frame');
    expect(await feed(p, frames(1, 4096, () => 0x11))).toMatchObject([{ kind: 'done', generation: 1 }]);
    const first = reports.values[0] as FrameReport;
    expect(first.sum).toBe(0x11 * 4096);
    expect(first.view).toBeInstanceOf(Uint8Array);
    expect(first.view?.buffer).not.toBeInstanceOf(SharedArrayBuffer);

    expect(await p.send({ op: 'scribble', value: 0xee })).toBe('scribbling');
    // The scribbler has overwritten the slot 100 times: the application's copy did not change.
    expect(first.view?.every((byte) => byte === 0x11)).toBe(true);
    const inputs = frames(12, 4096, (i) => 0x21 + i);
    const during = await feed(p, inputs);
    expect(during.every((o) => o.kind === 'done')).toBe(true);
    expect(inputs.every((input, i) => input.data.every((byte) => byte === 0x21 + i))).toBe(true);
    const elsewhere = collect(other, 'frame');
    expect((await feed(other, inputs)).every((o) => o.kind === 'done')).toBe(true);
    elsewhere.stop();
    expect((elsewhere.values as FrameReport[]).map((r) => r.sum)).toEqual(inputs.map((_, i) => (0x21 + i) * 4096));

    // The scribbler dies with its generation; its slots come back only after the process is gone.
    process.kill(pid, 'SIGKILL');
    await waitForStatus(p, (s) => s.state === 'failed');
    await expectEnds(pid);
    await h.restart(p);
    reports.values.length = 0;
    const next = frames(12, 4096, (i) => 0x41 + i);
    expect((await feed(p, next)).every((o) => o.kind === 'done' && o.generation === 2)).toBe(true);
    reports.stop();
    expect((reports.values as FrameReport[]).map((r) => r.sum)).toEqual(next.map((_, i) => (0x41 + i) * 4096));
    expect(first.view?.every((byte) => byte === 0x11)).toBe(true);
    expectBalanced(p);
    await expectServes(other);
  });

  // E5: the plugin's input loop stops advancing the submit ring's consumer index — one frame
  // never settles, while the process stays alive and heartbeating. The plugin watches its own
  // mapping of the ring: the head stands still while the host's tail moves on. The host never
  // blocks: it keeps accepting (64 deliveries in flight, 8 queued, then `block` refuses
  // explicitly past frames.maxQueuedBytes), keeps serving another instance, and at the input deadline (simulated
  // clock) the generation is lost/unresponsive. Every accepted frame ends delivered (frames
  // before the stall by generation 1, those it never started by generation 2), refused with
  // the reason, or — the stalled one — lost. (`block`: a drop policy hands over one input at
  // a time, and the ring would never fill.)
  it('E5: a stalled submit ring: the host never blocks, every frame is accounted for, lost/unresponsive at the input deadline', async () => {
    const h = harness();
    const other = await h.running();
    // A slot for every frame in flight and queued: the ring fills with frames in shared memory
    // (copies outside the pool would count as waiting against maxQueuedBytes).
    const p = await h.running({ fixture: 'hostile-stall', timeouts: { input: 1_000 }, frames: { queue: 8, slots: 72, overflow: 'block', maxQueuedBytes: 8 * 1024 } });
    const ring = collect(p, 'ring');
    const frames$ = new Subject<FrameInput>();
    const seen = new ReplaySubject<FrameOutcome>();
    p.connect(frames$).subscribe(seen);
    const stalled = entering(p, 'stall-ring');
    const before = firstValueFrom(seen.pipe(take(3), toArray(), timeout({ first: 5_000 })));
    for (const input of frames(3, 1024, () => 1)) frames$.next(input);
    frames$.next(frame({ fill: 2, length: 1024, timestamp: -1 }));
    await stalled;
    // The frames finished before the stall are reported while it lasts (the guest rang for
    // none of them: the host's bounded park picks them up).
    expect((await before).map((o) => [o.kind, o.generation])).toEqual([
      ['done', 1],
      ['done', 1],
      ['done', 1],
    ]);
    // While the plugin is stuck, the host goes on submitting.
    const LATER = 100;
    for (const input of frames(LATER, 1024, () => 3)) frames$.next(input);
    frames$.complete();
    expect(p.status.counters).toMatchObject({ inFlight: 64, queued: 8 });
    await expectServes(other);
    const watching = await waitForStatus(p, () => {
      const last = ring.values.at(-1) as { head: number; tail: number } | undefined;
      return last !== undefined && last.tail - last.head > 0 && ring.values.length >= 3;
    });
    expect(watching.state).toBe('running');
    const samples = ring.values as { head: number; tail: number }[];
    const stuck = samples.at(-1);
    expect(stuck).toBeDefined();
    expect(samples.filter((s) => s.head === stuck?.head).length).toBeGreaterThanOrEqual(2);
    console.log(`E5: the submit ring's consumer index stands at ${stuck?.head} while the host's producer index reached ${stuck?.tail}`);

    h.clock.increment(999);
    expect(p.status.state).toBe('running');
    h.clock.increment(1);
    await waitForStatus(p, (s) => s.state === 'failed');
    expect(p.status.failure).toMatchObject({ class: 'lost', cause: 'unresponsive', generation: 1 });
    expect(p.status.failure?.detail).toMatch(/did not settle within its 1000 ms budget/);
    ring.stop();
    await h.restart(p);
    const all = (await lastValueFrom(seen.pipe(toArray()))).sort((a, b) => a.seq - b.seq);
    expect(all).toHaveLength(3 + 1 + LATER);
    expect(all[3]).toMatchObject({ kind: 'lost', generation: 1, reason: 'generation 1 lost: unresponsive' });
    const later = all.slice(4);
    const done = later.filter((o) => o.kind === 'done');
    const dropped = later.filter((o) => o.kind === 'dropped');
    expect(done.length + dropped.length).toBe(LATER);
    expect(done.every((o) => o.generation === 2)).toBe(true);
    expect(dropped.every((o) => o.reason?.startsWith('refused: queue full: 8 frames waiting, 12288 bytes with their bookkeeping'))).toBe(true);
    expect(done.length).toBe(63 + 8);
    expect(p.status.counters).toMatchObject({ lost: 1, refused: dropped.length });
    expectBalanced(p);
  });

  // E8: a new generation gets a fresh rings-and-control segment, and nothing is left after
  // shutdown. Generation 1 writes a marker over every frame slot and over the unused parts of
  // its rings segment, then dies. Generation 2's rings segment is another memfd (another
  // inode) and holds no trace of the marker; frames written for generation 2 — into the slots
  // generation 1 wrote over — reach it with exactly the bytes the host wrote (no stale frame).
  // Both segments are anonymous memfds (never a name in /dev/shm), and after shutdown the
  // host holds no descriptor of either (an open memfd would keep its memory for the host's
  // lifetime). The frame slots themselves are one segment per instance, shared by its
  // generations by design (protocol.ts: frames queued for a dead generation go to the next
  // without a copy), so generation 2 can still read what generation 1 left outside any frame;
  // the test logs how much.
  it('E8: a fresh rings segment per generation, no stale frame, and no segment left after shutdown', async () => {
    const fdsBefore = openSegmentFds();
    const shmBefore = devShm();
    const h = harness();
    const p = await h.running({ fixture: 'hostile-shm', frames: { maxFrameBytes: 4096, slots: 4, queue: 2 } });
    const pid = await pidOf(p);
    const gen1 = (await p.send({ op: 'segments' })) as { frames: { ino: number; link: string }; rings: { ino: number; link: string } };
    expect(gen1.frames.link).toMatch(/^\/memfd:plugin-seam/);
    expect(gen1.rings.link).toMatch(/^\/memfd:plugin-seam/);
    const marker = 'STALE-GEN-1-MARKER';
    const written = (await p.send({ op: 'mark', marker })) as { frames: number; rings: number };
    expect(written.frames).toBeGreaterThan(0);
    expect(written.rings).toBeGreaterThan(0);
    expect(await p.send({ op: 'scan', marker })).toMatchObject({ rings: written.rings });
    process.kill(pid, 'SIGKILL');
    await waitForStatus(p, (s) => s.state === 'failed');
    await expectEnds(pid);
    await h.restart(p);

    const gen2 = (await p.send({ op: 'segments' })) as typeof gen1;
    expect(gen2.rings.link).toMatch(/^\/memfd:plugin-seam/);
    expect(gen2.rings.ino).not.toBe(gen1.rings.ino);
    const leftover = (await p.send({ op: 'scan', marker })) as { frames: number; rings: number };
    expect(leftover.rings).toBe(0);
    console.log(
      `E8: generation 2's rings segment is inode ${gen2.rings.ino} (generation 1's was ${gen1.rings.ino}), no marker in it; its frame slots are inode ${gen2.frames.ino} (generation 1's: ${gen1.frames.ino}), where ${leftover.frames} of generation 1's ${written.frames} markers are still readable outside any frame`,
    );
    const reports = collect(p, 'frame');
    const inputs = frames(8, 4096, (i) => 0x51 + i);
    expect((await feed(p, inputs)).every((o) => o.kind === 'done' && o.generation === 2)).toBe(true);
    reports.stop();
    expect((reports.values as FrameReport[]).map((r) => r.sum)).toEqual(inputs.map((_, i) => (0x51 + i) * 4096));
    expectBalanced(p);

    const pid2 = await pidOf(p);
    await h.runtime.shutdown();
    await expectEnds(pid2);
    expect(openSegmentFds()).toEqual(fdsBefore);
    expect(devShm()).toEqual(shmBefore);
  });
});

describe('isolated faults: half-written output', () => {
  const harness = useHarness('isolated');

  // E6: the plugin writes a frame's outcome but never publishes it, or starts an output and
  // dies mid-write. (a) A well-formed `done` descriptor for the frame it is handling, on the
  // complete ring past the published tail, then SIGKILL: the host's fence reads only what
  // was published, so that frame is `lost` — not done — while the frames published before it
  // are done and those never started go to generation 2. (b) Half an output frame on the
  // pipe, then SIGKILL: no partial output reaches the application, and the frame is lost.
  it.each([
    // The ring entry needs the shared rings; the torn pipe frame applies to the copy transport too.
    ...(SHARED_MEMORY ? ([['unpublished ring entry', -2]] as const) : []),
    ['torn pipe frame', -3],
  ] as const)('E6: %s, then death: nothing partial is delivered; the frame is lost and counted', async (_what, timestamp) => {
    const h = harness();
    const other = await h.running();
    const p = await h.running({ fixture: 'hostile-shm' });
    const pid = await pidOf(p);
    const torn = collect(p, 'torn');
    const inputs = [...frames(3, 1024, () => 1), frame({ fill: 2, length: 1024, timestamp }), ...frames(2, 1024, () => 3)];
    const outcomes = lastValueFrom(p.connect(from(inputs)).pipe(toArray()));
    await waitForStatus(p, (s) => s.state === 'failed');
    expect(p.status.failure).toMatchObject({ class: 'lost', cause: 'signal', signal: 'SIGKILL', generation: 1 });
    await expectEnds(pid);
    await h.restart(p);
    const all = (await outcomes).sort((a, b) => a.seq - b.seq);
    torn.stop();
    expect(all.map((o) => [o.kind, o.generation])).toEqual([
      ['done', 1],
      ['done', 1],
      ['done', 1],
      ['lost', 1],
      ['done', 2],
      ['done', 2],
    ]);
    expect(all[3]?.reason).toBe('generation 1 lost: signal');
    expect(torn.values).toEqual([]);
    expect(p.status.counters).toMatchObject({ accepted: 1 + 6, done: 1 + 5, lost: 1 });
    expectBalanced(p);
    await expectServes(other);
  });
});
