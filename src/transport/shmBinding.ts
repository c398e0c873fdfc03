import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { findPackageRoot } from './findPackageRoot.js';

/**
 * Seal flags and limits as compiled into the addon, so callers and tests use the kernel's
 * values instead of hard-coding them.
 */
export interface ShmConstants {
  readonly F_SEAL_SEAL: number;
  readonly F_SEAL_SHRINK: number;
  readonly F_SEAL_GROW: number;
  readonly F_SEAL_WRITE: number;
  /** Largest segment `createSegment` accepts (4 GiB on 64-bit). */
  readonly MAX_SEGMENT_BYTES: number;
  /** Segment sizes are rounded up to a multiple of this. */
  readonly PAGE_SIZE: number;
}

/** A freshly created segment: the memfd to hand to a child, and the host's own mapping of it. */
export interface ShmSegment {
  /** Close-on-exec memfd; pass it in `spawn`'s `stdio` array, then `closeFd` it. */
  readonly fd: number;
  /** The whole segment; `byteLength` is the page-rounded size the child must expect. */
  readonly buffer: SharedArrayBuffer;
}

/**
 * The native shared-memory addon (Linux only).
 *
 * Why it exists: isolated plugins run in a child process, where a SharedArrayBuffer cannot be
 * posted. The addon maps one sealed memfd into both processes and exposes it as a
 * SharedArrayBuffer, so frames cross the process boundary without copies and both sides can
 * use `Atomics` on the same memory. Without it, isolated mode copies frames over the IPC pipe.
 */
export interface ShmBinding {
  /**
   * Creates a memfd of `byteLength` bytes rounded up to whole pages, seals it against
   * shrinking, growing and further sealing, and maps it read-write. Throws (with `code`,
   * `errno`, `syscall` like Node's system errors) on any failure, and RangeError unless
   * `byteLength` is an integer in [1, MAX_SEGMENT_BYTES].
   */
  createSegment(byteLength: number): ShmSegment;
  /**
   * Maps an inherited segment fd (child side). Refuses, by throwing, an fd that is not sealed
   * against shrinking and growing — a peer could otherwise truncate it and SIGBUS this process
   * — or whose size is not exactly `expectedByteLength`.
   */
  mapSegment(fd: number, expectedByteLength: number): SharedArrayBuffer;
  /** Closes a descriptor; mappings made from it stay valid. */
  closeFd(fd: number): void;
  /**
   * Gives the memory of `buffer` back to the system now, whatever still references it: a
   * segment of this addon's (`madvise(MADV_REMOVE)`: the memfd's pages, in every process that
   * maps it) or any other SharedArrayBuffer (`MADV_DONTNEED` over its whole pages). It then
   * reads zeros; a write allocates again; nothing faults. V8 frees a buffer only when it
   * collects it, which an idle host may never do. Optional like the futex pair: an older build
   * lacks it.
   */
  readonly discardMemory?: (buffer: SharedArrayBuffer) => void;
  /**
   * Tells V8 that `bytes` more (negative: fewer) bytes outside its heap depend on its objects
   * (`AdjustAmountOfExternalAllocatedMemory`); returns the new total. V8 collects sooner as it
   * grows. Optional: an older build lacks it.
   */
  readonly adjustExternalMemory?: (bytes: number) => number;
  /**
   * Arms `prctl(PR_SET_PDEATHSIG, signal)` for the calling process (0 disarms), so a child
   * dies with its host even when the host is SIGKILLed. Returns whether the parent is still
   * alive afterwards, i.e. `getppid()` equals `expectedParentPid` (default: the parent seen
   * just before arming); `false` means the parent is already gone and no signal will come.
   * Note the kernel fires on the exit of the parent *thread* that spawned the child, so the
   * host must spawn from a thread that lives as long as the child should.
   */
  setParentDeathSignal(signal: number, expectedParentPid?: number): boolean;
  /**
   * Like {@link setParentDeathSignal}, for a process that leads its own process group: when
   * the parent dies, the whole group is SIGKILLed, the caller's children included (a native
   * handler of a real-time signal, so it runs even while the process's JavaScript is busy).
   * Throws for a caller that does not lead its own process group. Absent from an addon built
   * before it existed.
   */
  readonly setGroupDeathSignal?: (expectedParentPid?: number) => boolean;
  /** The fd's seal bitmask (`F_SEAL_*`); throws if the file cannot carry seals. */
  seals(fd: number): number;
  /**
   * Sleeps while the int32 at `byteOffset` of `buffer` holds `expected`, at most `timeoutMs`
   * (≤ 60 000): a futex that a process sharing the segment wakes with {@link futexWake}.
   * `processPrivate`: a futex of this process only (`FUTEX_PRIVATE_FLAG`: no page pinning per
   * call), woken only by a `futexWake` that says so too. Returns 0 when woken (or
   * interrupted), 1 when the word did not hold `expected`, 2 on timeout. Blocks the calling
   * thread.
   */
  readonly futexWait?: (buffer: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number, processPrivate?: boolean) => 0 | 1 | 2;
  /** Wakes up to `count` sleepers of {@link futexWait} on that word (of this process only, with `processPrivate`); returns how many woke. */
  readonly futexWake?: (buffer: SharedArrayBuffer, byteOffset: number, count: number, processPrivate?: boolean) => number;
  /**
   * `sched_yield()`: gives up the rest of the calling thread's time slice, so a peer it just
   * woke on the same core runs now. Never blocks (returns at once when nothing else is
   * runnable). Optional like the futex pair: an older build lacks it.
   */
  readonly schedYield?: () => number;
  /**
   * Copies every byte of `source` into `target` (same length, else RangeError) with libc's
   * `memmove`. For copies into shared memory: V8's `TypedArray#set` copies to or from a
   * SharedArrayBuffer with a relaxed-atomic word loop, 2–3× slower from ~16 KiB up. The
   * caller keeps others from writing `target` meanwhile. Optional like the futex pair.
   */
  readonly copyBytes?: (target: Uint8Array, source: Uint8Array) => void;
  readonly constants: ShmConstants;
}

/** Setting this environment variable to `1` makes the addon unavailable, to exercise the copy fallback. */
export const SHM_ADDON_DISABLE_ENV = 'PLUGIN_SEAM_NO_ADDON';

const PACKAGE_NAME = 'plugin-seam';
const ADDON_RELATIVE_PATH = path.join('native', 'build', 'Release', 'plugin_seam_shm.node');

/**
 * Where `npm pack` puts the addon it built (`native/build.mjs --prebuild`), for installs that
 * compile nothing: npm may run no install script (`--ignore-scripts`, or npm's policy for
 * dependencies' scripts), and a machine may have no compiler. Keyed by platform, CPU and
 * Node's module ABI (`process.versions.modules`): the addon uses V8's API, which changes
 * with every Node major. Exported for the build script's tests and for diagnostics.
 */
export function prebuiltAddonPath(
  platform: string = process.platform,
  arch: string = process.arch,
  abi: string = process.versions.modules,
): string {
  return path.join('prebuilds', `${platform}-${arch}`, `plugin_seam_shm.abi${abi}.node`);
}
// futexWait/futexWake/schedYield/copyBytes are not required: an addon built before them still shares
// memory (callers check for them and do without a blocking park or a yield).
const FUNCTIONS = ['createSegment', 'mapSegment', 'closeFd', 'setParentDeathSignal', 'seals'] as const;

type LoadOutcome = { readonly binding: ShmBinding } | { readonly reason: string };

/** Loaded at most once per module instance (per thread): the outcome cannot change. */
let outcome: LoadOutcome | undefined;

/**
 * The native addon, or `undefined` when it is unavailable (not Linux, not built, failed to
 * load, or disabled with `PLUGIN_SEAM_NO_ADDON=1`).
 *
 * Why it never throws: the addon is an optimisation and its build is allowed to fail at
 * install time; callers fall back to copying frames and can report
 * {@link shmBindingUnavailableReason}.
 */
export function loadShmBinding(): ShmBinding | undefined {
  if (disabledByEnv()) return undefined;
  outcome ??= attemptLoad();
  return 'binding' in outcome ? outcome.binding : undefined;
}

/**
 * Why {@link loadShmBinding} returns `undefined` right now, or `undefined` when the addon is
 * available. Exists so the fallback to copying can be explained in logs and test output
 * instead of happening silently.
 */
export function shmBindingUnavailableReason(): string | undefined {
  if (disabledByEnv()) return `disabled by ${SHM_ADDON_DISABLE_ENV}=1`;
  outcome ??= attemptLoad();
  return 'reason' in outcome ? outcome.reason : undefined;
}

/** Read on every call, not cached, so a test can switch the fallback on and off. */
function disabledByEnv(): boolean {
  return process.env[SHM_ADDON_DISABLE_ENV] === '1';
}

function attemptLoad(): LoadOutcome {
  if (process.platform !== 'linux') {
    return { reason: `sealed memfd segments are Linux-only (platform is ${process.platform})` };
  }
  const root = findPackageRoot(import.meta.url, PACKAGE_NAME);
  if (root === undefined) {
    return { reason: `could not find the ${PACKAGE_NAME} package root above ${import.meta.url}` };
  }
  // A build made on this machine first (it matches this Node exactly), then the prebuilt.
  const reasons: string[] = [];
  for (const relative of [ADDON_RELATIVE_PATH, prebuiltAddonPath()]) {
    const file = path.join(root, relative);
    if (!existsSync(file)) {
      reasons.push(`${file} is missing`);
      continue;
    }
    try {
      const loaded: unknown = createRequire(import.meta.url)(file);
      if (isShmBinding(loaded)) return { binding: loaded };
      reasons.push(`${file} does not export the expected functions (stale build? rebuild it: npm rebuild plugin-seam, or npm run build:native in a checkout)`);
    } catch (error) {
      // Another platform's or Node's build, or a glibc build on musl: the next candidate.
      reasons.push(`${file} failed to load: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { reason: `${reasons.join('; ')} (the install-time build failed or was skipped; build it: npm rebuild plugin-seam, or npm run build:native in a checkout)` };
}

function isShmBinding(value: unknown): value is ShmBinding {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    FUNCTIONS.every((name) => typeof record[name] === 'function') &&
    typeof record.constants === 'object' &&
    record.constants !== null
  );
}
