import { Subject } from 'rxjs';
import type { PluginInstance } from '../../actors/PluginInstance.js';
import type { FrameInput, FrameOutcome } from '../../actors/instanceTypes.js';
import type { BenchInput } from './BenchReport.js';
import type { InputOp } from './timeInputs.js';

/** Feeds one plugin instance the bench input, one call of `op` per input. */
export interface InputDriver {
  /** Submits one input; resolves when the plugin has handled it, rejects if it did not. */
  readonly op: InputOp;
  /** Ends the frame stream (messages need nothing). */
  close(): void;
}

/** A frame the plugin did not handle (failed, dropped or lost). */
export class BenchFrameFailed extends Error {
  override readonly name = 'BenchFrameFailed';
}

/**
 * The same input for every mode, through the public API an application uses: `send()` for a
 * message; for frames, one `connect()` stream fed from a `Subject`, each frame an
 * application buffer (copied once on submission, as for any application). Frame outcomes
 * settle in submission order, so each settles the oldest waiting call.
 */
export function createInputDriver(instance: PluginInstance, input: BenchInput): InputDriver {
  if (input.kind === 'message') {
    const { message } = input;
    return { op: () => instance.send(message), close: () => undefined };
  }
  // A recognisable pattern rather than zeros, in case a plugin short-circuits on blank frames.
  const data = new Uint8Array(input.byteLength);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const frame: FrameInput = { width: input.width, height: input.height, format: input.format, timestamp: 0, data };
  const frames$ = new Subject<FrameInput>();
  const waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const subscription = instance.connect(frames$).subscribe({
    next: (outcome: FrameOutcome) => {
      const call = waiting.shift();
      if (call === undefined) return;
      if (outcome.kind === 'done') call.resolve();
      else call.reject(new BenchFrameFailed(`frame ${outcome.seq} ${outcome.kind}${outcome.reason === undefined ? '' : `: ${outcome.reason}`}`));
    },
    error: (error: unknown) => {
      for (const call of waiting.splice(0)) call.reject(error);
    },
  });
  return {
    op: () =>
      new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        frames$.next(frame);
      }),
    close: () => {
      frames$.complete();
      subscription.unsubscribe();
      for (const call of waiting.splice(0)) call.reject(new BenchFrameFailed('the frame stream was closed'));
    },
  };
}
