// Real-process fault tests for isolated mode, part 7: numeric abuse (RELIABILITY.md §5 D6).
// The plugin process forges what its guest sends the host — NaN, negatives, 2^53 + 1,
// fractions where integers belong, bigints, values outside an enum — in every numeric or
// enumerated field of the guest → host messages: the control-pipe messages (written raw on
// fd 3, Comlink's envelope inside `rpc` included) and the descriptors of the complete ring
// (written into the shared rings). Each is a protocol violation: the generation is
// lost/protocol with the offending field named, the process is killed, and the host carries
// on serving another instance. One table row per field and abuse; the unit tests of the
// decoder and the ring cover the same rules without a process (test/unit/isolated,
// test/unit/transport).
import { describe, expect, it } from 'vitest';
import { LostWhileRunning, StartupFailed, TeardownFailed } from 'plugin-seam';
import type { PluginInstance } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { useHarness } from '../conformance/harness.js';
import { expectBalanced, expectEnds, expectServes, guardHost } from '../fixtures/faultKit.js';
import { SHARED_MEMORY } from './sharedMemory.js';

guardHost();

const SEQ = 2 ** 53 + 1; // not representable: it is the double 2^53, past Number.MAX_SAFE_INTEGER

/** Control-pipe messages, each valid but for one field. */
const PIPE_CASES: readonly (readonly [string, Record<string, unknown>, RegExp])[] = [
  ['outcome.seq NaN', { t: 'outcome', seq: Number.NaN, ok: true, value: 1 }, /^field_range: outcome\.seq is NaN/],
  ['outcome.seq -1', { t: 'outcome', seq: -1, ok: true, value: 1 }, /^field_range: outcome\.seq is -1/],
  ['outcome.seq 2^53 + 1', { t: 'outcome', seq: SEQ, ok: true, value: 1 }, /^field_range: outcome\.seq is 9007199254740992/],
  ['outcome.seq 1.5', { t: 'outcome', seq: 1.5, ok: true, value: 1 }, /^field_range: outcome\.seq is 1\.5/],
  ['outcome.seq Infinity', { t: 'outcome', seq: Number.POSITIVE_INFINITY, ok: true, value: 1 }, /^field_range: outcome\.seq is Infinity/],
  ['outcome.seq a bigint', { t: 'outcome', seq: 3n, ok: true, value: 1 }, /^field_type: outcome\.seq is a bigint/],
  ['outcome.ok 1 (not a boolean)', { t: 'outcome', seq: 3, ok: 1, value: 1 }, /^field_type: outcome\.ok is 1, not a boolean/],
  ['output.inputSeq NaN', { t: 'output', channel: 'c', value: 1, inputSeq: Number.NaN }, /^field_range: output\.inputSeq is NaN/],
  ['output.inputSeq -1', { t: 'output', channel: 'c', value: 1, inputSeq: -1 }, /^field_range: output\.inputSeq is -1/],
  ['output.inputSeq 2^53 + 1', { t: 'output', channel: 'c', value: 1, inputSeq: SEQ }, /^field_range: output\.inputSeq is 9007199254740992/],
  ['output.inputSeq 0.5', { t: 'output', channel: 'c', value: 1, inputSeq: 0.5 }, /^field_range: output\.inputSeq is 0\.5/],
  ['hello.version NaN', { t: 'hello', version: Number.NaN }, /^field_range: hello\.version is NaN/],
  ['hello.version -1', { t: 'hello', version: -1 }, /^field_range: hello\.version is -1/],
  ['hello.version 1.5', { t: 'hello', version: 1.5 }, /^field_range: hello\.version is 1\.5/],
  ['log.level out of the enum', { t: 'log', level: 'fatal', message: 'm' }, /^field_range: log\.level "fatal" is not debug, info, warn or error/],
  ['log.level a number', { t: 'log', level: 3, message: 'm' }, /^field_type: log\.level is 3, not a string/],
  // Comlink's envelope inside `rpc` (the guest only ever replies: { id, type: 'RAW' | 'HANDLER', … }).
  ['rpc.data.id NaN', { t: 'rpc', data: { id: Number.NaN, type: 'RAW', value: 1 } }, /^rpc\.data\.id is NaN, not a string/],
  ['rpc.data.id -1', { t: 'rpc', data: { id: -1, type: 'RAW', value: 1 } }, /^rpc\.data\.id is -1, not a string/],
  ['rpc.data.type out of the enum', { t: 'rpc', data: { id: '1-2-3-4', type: 'APPLY', value: 1 } }, /^rpc\.data\.type is "APPLY", not RAW or HANDLER/],
  ['rpc.data a number', { t: 'rpc', data: 42 }, /^rpc\.data is 42, not a reply object/],
];

// Complete-ring descriptor words (src/transport/DescriptorRing.ts): 0 slot, 1 length,
// 3 seq high word, 4 generation, 5 kind. The forged descriptor is a well-formed `done` of
// this generation for an unknown seq, but for the words given here.
const RING_CASES: readonly (readonly [string, Record<number, number>, RegExp])[] = [
  ['kind 2 (only 0, done, and 1, value, exist)', { 5: 2 }, /kind 2 is not below 2/],
  ['kind 2^32 - 1', { 5: 0xffff_ffff }, /kind 4294967295 is not below 2/],
  ['a value (kind 1) longer than its payload area', { 5: 1, 1: 257 }, /payload kind 1 names slot 0 with length 257 \(payload area: 256 bytes\)/],
  ['a value (kind 1) with length 2^32 - 1', { 5: 1, 1: 0xffff_ffff }, /payload kind 1 names slot 0 with length 4294967295/],
  ['a value (kind 1) naming slot 1', { 5: 1, 0: 1 }, /payload kind 1 names slot 1 with length 0/],
  ['seq above 2^53 (high word 2^21)', { 3: 0x20_0000 }, /seq high word 0x200000 makes seq unsafe/],
  ['generation 2 (the next one)', { 4: 2 }, /generation 2, expected 1/],
  ['generation 2^32 - 1', { 4: 0xffff_ffff }, /generation 4294967295, expected 1/],
  ['slot 1 on a slotless kind', { 0: 1 }, /slotless kind 0 names slot 1 with length 0/],
  ['length 2^31 on a slotless kind', { 1: 0x8000_0000 }, /slotless kind 0 names slot 0 with length 2147483648/],
];

async function pidOf(p: PluginInstance): Promise<number> {
  const pid = await p.send({ op: 'pid' });
  expect(typeof pid).toBe('number');
  return pid as number;
}

describe('isolated faults: numeric abuse in what the guest sends (D6)', () => {
  const harness = useHarness('isolated');

  /** Sends `message` to a fresh hostile-forge instance; expects lost/protocol; returns the detail. */
  async function forged(message: Record<string, unknown>): Promise<string> {
    const h = harness();
    const other = await h.running();
    const p = await h.running({ fixture: 'hostile-forge', restart: { policy: 'never' } });
    const pid = await pidOf(p);
    const error = await p.send(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LostWhileRunning);
    expect(error).toMatchObject({ failureCause: 'protocol', generation: 1 });
    expect(p.status).toMatchObject({ state: 'failed', failure: { class: 'lost', cause: 'protocol', generation: 1 } });
    expect(p.status.counters).toMatchObject({ accepted: 2, done: 1, lost: 1, stale: 0 });
    expectBalanced(p);
    await expectEnds(pid);
    await expectServes(other);
    return p.status.failure?.detail ?? '';
  }

  it.each(PIPE_CASES)('D6 pipe: %s is lost/protocol', async (_what, message, detail) => {
    expect(await forged({ op: 'forge', message })).toMatch(detail);
  });

  // The well-formed counterpart (D4): a Comlink reply for a call the host never made is
  // dropped and counted in `stale`; it settles nothing and the instance keeps serving.
  it('D4: a well-formed rpc reply to a call never made is dropped and counted', async () => {
    const h = harness();
    const p = await h.running({ fixture: 'hostile-forge', restart: { policy: 'never' } });
    const forged = p.send({ op: 'forge', message: { t: 'rpc', data: { id: 'never-sent', type: 'RAW', value: { ok: true, posted: 0 } } } });
    void forged.catch(() => undefined);
    await waitForStatus(p, (s) => s.counters.stale >= 1);
    expect(p.status).toMatchObject({ state: 'running', generation: 1 });
    expect(p.status.counters).toMatchObject({ accepted: 1, inFlight: 1, stale: 1 });
  });

  // The complete ring exists only with shared memory (see sharedMemory.ts).
  it.skipIf(!SHARED_MEMORY).each(RING_CASES)('D6 ring: %s is lost/protocol', async (_what, words, detail) => {
    const found = await forged({ op: 'forge-ring', words });
    expect(found).toMatch(/^ring: descriptor \d+: /);
    expect(found).toMatch(detail);
  });

  // A forged reply to a control call: what Comlink or the host would trip over (a null, a
  // throw-handler value of null) was the host's own TypeError, classified `threw`; a count of
  // messages posted before the reply beyond what came held the call to its deadline. Each is
  // a protocol violation now, at once: the reply follows those messages on the same pipe.
  const REPLY_CASES: readonly (readonly [string, Record<string, unknown>, RegExp])[] = [
    ['a null value', { value: null }, /invalid control reply/],
    ["a throw handler's null value", { type: 'HANDLER', name: 'throw', value: null }, /a HANDLER reply's value is null, not an object/],
    ["a throw handler's null error", { type: 'HANDLER', name: 'throw', value: { isError: true, value: null } }, /a HANDLER reply's error is null, not an object/],
    ['2^53 - 1 messages posted before it', { value: { ok: true, posted: 2 ** 53 - 1 } }, /counts 9007199254740991 messages posted before it, but \d+ came/],
  ];

  it.each(REPLY_CASES)('a start reply with %s is startup/protocol, at once', async (_what, data, detail) => {
    const h = harness();
    const p = h.load({ fixture: 'hostile-reply', config: { phase: 'start', data }, restart: { policy: 'never' }, timeouts: { start: 60_000 } });
    const t0 = performance.now();
    const error = await p.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupFailed);
    expect(error).toMatchObject({ failureCause: 'protocol', generation: 1 });
    expect((error as StartupFailed).detail).toMatch(detail);
    // Not held to the 60 s deadline.
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it.each(REPLY_CASES)('a stop reply with %s is teardown/protocol, at once', async (_what, data, detail) => {
    const h = harness();
    const p = await h.running({ fixture: 'hostile-reply', config: { phase: 'stop', data }, restart: { policy: 'never' }, timeouts: { stop: 60_000 } });
    expect(await p.send('still here')).toBe('still here');
    const t0 = performance.now();
    const error = await p.stop().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TeardownFailed);
    expect(error).toMatchObject({ failureCause: 'protocol', generation: 1 });
    expect((error as TeardownFailed).detail).toMatch(detail);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expectBalanced(p);
  });
});
