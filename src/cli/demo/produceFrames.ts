import type { Subject } from 'rxjs';
import type { FrameInput } from '../../actors/instanceTypes.js';
import type { PluginInstance } from '../../actors/PluginInstance.js';
import { corruptFrameHeader } from './frameHeader.js';
import type { SyntheticScene } from './SyntheticScene.js';

/** Options of {@link produceFrames}. */
export interface ProduceFramesOptions {
  readonly instance: PluginInstance;
  readonly scene: SyntheticScene;
  /** Where the frames go: the Subject given to `instance.connect()`; completed at the end. */
  readonly frames$: Subject<FrameInput>;
  readonly totalFrames: number;
  /** `performance.now()` when frame 0 is due. */
  readonly startedAt: number;
  /** Stops the producer early (Ctrl-C). */
  readonly signal: AbortSignal;
  /** The first frame at or after this index gets a corrupt header; `undefined`: none. */
  readonly poisonFrame: number | undefined;
  /** Called right before each frame is submitted. */
  readonly onSubmit: (frameIndex: number, atMs: number, poisoned: boolean) => void;
  /** Called when the producer skips frames it is too late for. */
  readonly onSkip: (count: number) => void;
}

/** Resolves at `dueMs` (`performance.now()` time), or at once when `signal` aborts. */
function sleepUntil(dueMs: number, signal: AbortSignal): Promise<void> {
  const wait = dueMs - performance.now();
  if (wait <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, wait);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Feeds one instance with the synthetic video at a steady rate paced on the wall clock:
 * frame `i` is due at `startedAt + i / fps`. Each frame is drawn straight into a slot from
 * `instance.acquire()`, the zero-copy path: the bytes are written once, into memory the
 * plugin reads (shared with its thread or process), and never copied on submission.
 *
 * `acquire()` waits while every slot is held (the plugin is behind, or restarting): when it
 * returns more than a frame late, the producer skips to the frame due now rather than
 * falling ever further behind the clock, and reports the skipped frames. Each instance has
 * its own producer, so a slow or restarting instance never holds back another.
 *
 * Resolves once every frame was submitted (or the signal aborted) and `frames$` completed.
 *
 * @example
 * ```ts
 * const frames$ = new Subject<FrameInput>();
 * detector.connect(frames$).subscribe(onOutcome);
 * await produceFrames({ instance: detector, scene, frames$, totalFrames: 600, startedAt: performance.now(), signal, poisonFrame: undefined, onSubmit, onSkip });
 * ```
 */
export async function produceFrames(options: ProduceFramesOptions): Promise<void> {
  const { instance, scene, frames$, signal, startedAt, totalFrames } = options;
  const periodMs = 1_000 / scene.fps;
  let poisonPending = options.poisonFrame !== undefined;
  try {
    let i = 0;
    while (i < totalFrames && !signal.aborted) {
      await sleepUntil(startedAt + i * periodMs, signal);
      if (signal.aborted) break;
      let slot;
      try {
        slot = await instance.acquire(scene.frameBytes, signal);
      } catch (error) {
        if (signal.aborted) break;
        throw error;
      }
      const now = performance.now();
      const dueNow = Math.floor((now - startedAt) / periodMs);
      if (dueNow > i + 1) {
        const skip = Math.min(dueNow, totalFrames) - i;
        options.onSkip(skip);
        i += skip;
        if (i >= totalFrames) {
          slot.release();
          break;
        }
      }
      scene.render(slot.data, i);
      const poisoned = poisonPending && i >= (options.poisonFrame ?? 0);
      if (poisoned) {
        corruptFrameHeader(slot.data);
        poisonPending = false;
      }
      slot.width = scene.width;
      slot.height = scene.height;
      slot.format = 'gray';
      slot.timestamp = startedAt + i * periodMs;
      options.onSubmit(i, performance.now(), poisoned);
      frames$.next(slot);
      i += 1;
    }
  } finally {
    frames$.complete();
  }
}
