// Records what one instance publishes — status changes, ledger snapshots, outputs, logs —
// into the history, synchronously as it is published, so the order of those events is the
// order the application saw them in. Keeps the pid each generation announced.
import { Subscription } from 'rxjs';
import type { LifecycleState, PluginInstance } from 'plugin-seam';
import type { History } from './History.js';

/** The recording of one instance: its subscriptions and the pids its generations announced. */
export interface InstanceRecording {
  readonly subscription: Subscription;
  /** Process id by generation, from the plugin's `hello` output. */
  readonly pids: ReadonlyMap<number, number>;
}

/**
 * Subscribes to `p`'s streams and records them into `history` until unsubscribed.
 *
 * @example
 * ```ts
 * const recording = recordInstance(p, history);
 * // ... run ...
 * recording.subscription.unsubscribe();
 * ```
 */
export function recordInstance(p: PluginInstance, history: History): InstanceRecording {
  const pids = new Map<number, number>();
  const subscription = new Subscription();
  const instance = p.id;
  let state: LifecycleState | undefined;
  let generation = -1;
  let failure: string | undefined;
  subscription.add(
    p.status$.subscribe((s) => {
      const failed = s.failure === undefined ? undefined : JSON.stringify(s.failure);
      if (s.state !== state || s.generation !== generation || failed !== failure) {
        state = s.state;
        generation = s.generation;
        failure = failed;
        history.record({
          instance,
          generation: s.generation,
          kind: 'status',
          state: s.state,
          ...(s.failure === undefined ? {} : { failure: s.failure }),
          restarts: s.restarts,
          scheduled: s.restart?.scheduled === true,
        });
      }
      history.record({ instance, generation: s.generation, kind: 'ledger', counters: s.counters });
    }),
  );
  subscription.add(
    p.outputs$.subscribe((o) => {
      const value = o.value as { readonly generation?: unknown; readonly n?: unknown; readonly pid?: unknown } | null;
      if (o.channel === 'hello' && typeof value?.pid === 'number') pids.set(o.generation, value.pid);
      history.record({
        instance,
        generation: p.actor.getSnapshot().context.generation,
        kind: 'output',
        channel: o.channel,
        seq: o.seq,
        of: o.generation,
        ...(typeof value?.generation === 'number' ? { emittedBy: value.generation } : {}),
        ...(typeof value?.n === 'number' ? { n: value.n } : {}),
      });
    }),
  );
  subscription.add(
    p.logs$.subscribe((l) => {
      history.record({ instance, generation: p.actor.getSnapshot().context.generation, kind: 'log', of: l.generation });
    }),
  );
  return { subscription, pids };
}
