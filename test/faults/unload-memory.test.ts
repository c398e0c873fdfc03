// RELIABILITY E8 over time: an application that loads instances on demand unloads them, and
// their frame memory goes back to the system then — not when V8 happens to collect a buffer.
// An idle host (a JS heap that never grows) collected nothing: each unloaded instance kept its
// pool's pages (embedded and isolated alike, 96 MiB by default; 2.4 GB after 24 cycles). With
// the addon, a pool's memory is discarded when it closes (madvise: MADV_REMOVE for an isolated
// pool's memfd, MADV_DONTNEED for an embedded pool's SharedArrayBuffer): whatever still
// references it reads zeros. Without the addon, embedded pools are left to the garbage
// collector (README), and isolated frames are copies: no shared pool to discard.
import { readFileSync } from 'node:fs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createRuntime } from 'plugin-seam';
import type { FrameSlot } from 'plugin-seam';
import { waitForStatus } from 'plugin-seam/testing';
import { fixture } from '../conformance/harness.js';
import { SHARED_MEMORY } from './sharedMemory.js';

/** This process's resident memory, in MiB (a pool's pages: memfd ones isolated, V8's own embedded). */
function rssMb(): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kb ?? Number.NaN) / 1024;
}

const SLOT_BYTES = 8 * 1024 * 1024;
const SLOTS = 4;

describe.runIf(SHARED_MEMORY).each(['embedded', 'isolated'] as const)('%s: frame memory after unload', (mode) => {
  it('is given back at unload, without a garbage collection, cycle after cycle', async () => {
    const runtime = createRuntime();
    const CYCLES = 8;
    try {
      const before = rssMb();
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const id = `on-demand-${cycle}`;
        const p = runtime.load({ id, module: fixture('behaviour'), mode, frames: { slots: SLOTS, queue: SLOTS, maxFrameBytes: SLOT_BYTES } });
        await p.start();
        await p.run();
        // Every slot written whole (its pages resident), then handed over.
        const slots: FrameSlot[] = [];
        for (let i = 0; i < SLOTS; i++) {
          const slot = await p.acquire(SLOT_BYTES);
          slot.data.fill(cycle + 1);
          Object.assign(slot, { width: 2048, height: 1024, format: 'rgba', timestamp: i });
          slots.push(slot);
        }
        const outcomes = await lastValueFrom(p.connect(from(slots)).pipe(toArray()));
        expect(outcomes.map((o) => o.kind)).toEqual(slots.map(() => 'done'));
        await runtime.unload(id);
        // A slot the application kept reads zeros now (its whole pages: an embedded pool's
        // buffer may start and end inside a page it shares), and writing it is harmless.
        expect(slots[1]?.data[SLOT_BYTES / 2]).toBe(0);
        slots[1]?.data.fill(9, 0, 16);
      }
      // Kept, the pools would have grown the process by CYCLES × 32 MiB (256); given back, what
      // remains is what any cycle leaves (a worker's or a child's bookkeeping), well under two.
      const grown = rssMb() - before;
      console.log(`${mode}: ${CYCLES} load/unload cycles of a 32 MiB pool written whole: resident memory +${grown.toFixed(1)} MiB`);
      expect(grown).toBeLessThan(2 * SLOTS * 8);
    } finally {
      await runtime.shutdown();
    }
  });

  // The pages go back at once, the mapping only with the buffer, when V8 collects it. A shared
  // buffer counts toward no isolate's heap, and an application loading and unloading
  // instances allocates little else: V8 never collected one, and the address space grew by a
  // pool per cycle (under `ulimit -v 4000000`, load() failed at the 31st cycle: mmap ENOMEM).
  // A closed pool now counts as external memory until it is collected, which makes V8 collect.
  it('leaves only a few unloaded pools mapped, however many cycles, without a forced collection', async () => {
    const runtime = createRuntime();
    const CYCLES = 30;
    const POOL_MB = 128;
    const poolBytes = POOL_MB * 2 ** 20;
    /** Bytes of one line of /proc/self/maps. */
    const mappingBytes = (line: string): number => {
      const [start = '0', end = '0'] = line.split(' ')[0]?.split('-') ?? [];
      return Number.parseInt(end, 16) - Number.parseInt(start, 16);
    };
    /** Pools still mapped: memfd mappings of a pool's size isolated, Node's count of buffers embedded. */
    const mappedPools = (): number =>
      mode === 'isolated'
        ? readFileSync('/proc/self/maps', 'utf8')
            .split('\n')
            .filter((line) => line.includes('memfd:plugin-seam') && mappingBytes(line) === poolBytes).length
        : Math.floor(process.memoryUsage().arrayBuffers / poolBytes);
    let most = 0;
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const id = `cycled-${cycle}`;
        const p = runtime.load({ id, module: fixture('behaviour'), mode, frames: { slots: 4, queue: 4, maxFrameBytes: (POOL_MB / 4) * 2 ** 20 } });
        await p.start();
        await p.run();
        expect(await p.send(1)).toBe(1);
        await runtime.unload(id);
        most = Math.max(most, mappedPools());
      }
      console.log(`${mode}: ${CYCLES} load/unload cycles of a ${POOL_MB} MiB pool: at most ${most} pools mapped at once`);
      // Kept until collected without the pressure: all 30 (3.8 GB of address space).
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(6);
    } finally {
      await runtime.shutdown();
    }
  });
});

// The same over restarts: each isolated generation has its own ring segment (a memfd of
// 64 KiB, ~12 KB of it written by the host and the child). Left to the garbage collector, a host restarting a crashing
// plugin kept every dead generation's pages resident and mapped: V8 collects a shared buffer
// only in a major collection, which a host making little garbage rarely runs. They are given
// back once the generation's process is gone.
describe.runIf(SHARED_MEMORY)('isolated: ring memory after restarts', () => {
  /** Resident kB of each small memfd mapping of ours (a ring segment; frame pools are far larger). */
  const ringResidentKb = (): number[] => {
    const smaps = readFileSync('/proc/self/smaps', 'utf8').split('\n');
    const resident: number[] = [];
    for (let i = 0; i < smaps.length; i++) {
      const line = smaps[i] ?? '';
      if (!line.includes('memfd:plugin-seam')) continue;
      const [start = '0', end = '0'] = line.split(' ')[0]?.split('-') ?? [];
      if (Number.parseInt(end, 16) - Number.parseInt(start, 16) >= 2 ** 20) continue;
      for (let j = i + 1; j < smaps.length && !/^[0-9a-f]+-/.test(smaps[j] ?? ''); j++) {
        const rss = /^Rss:\s+(\d+) kB/.exec(smaps[j] ?? '');
        if (rss !== null) resident.push(Number(rss[1]));
      }
    }
    return resident;
  };

  it('gives each dead generation’s ring pages back, without a garbage collection', async () => {
    const runtime = createRuntime();
    const GENERATIONS = 6;
    try {
      const p = runtime.load({ id: 'restarted', module: fixture('faults'), mode: 'isolated', restart: { intensity: { maxRestarts: GENERATIONS, withinMs: 60_000 }, backoff: { initialMs: 0 } } });
      await p.start();
      await p.run();
      for (let generation = 1; generation < GENERATIONS; generation++) {
        const pid = (await p.send({ op: 'pid' })) as number;
        process.kill(pid, 'SIGKILL');
        await waitForStatus(p, (s) => s.state === 'running' && s.generation === generation + 1, 10_000);
      }
      expect(await p.send({ op: 'echo', value: 7 })).toBe(7);
      const resident = ringResidentKb();
      console.log(`isolated: ring mappings after ${GENERATIONS} generations, resident kB: ${resident.join(', ')}`);
      // Mapped until collected, but only the live generation's pages are resident.
      expect(resident.length).toBeGreaterThan(0);
      expect(resident.filter((kb) => kb > 0)).toHaveLength(1);
    } finally {
      await runtime.shutdown();
    }
  });
});
