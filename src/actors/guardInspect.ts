import type { InspectionEvent, Observer } from 'xstate';
import { InvalidOptions, messageOf } from '../errors.js';

/** What `createRuntime({ inspect })` takes: an xstate inspection observer, or its `next` alone. */
export type InspectOption = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * The application's inspection observer as one function that never throws. xstate calls it
 * inside the actor's own transitions: an observer that threw (an inspector whose socket had
 * closed, say) escaped as an uncaught exception, left the transition half done — a `start()`
 * pending for ever, a `pause()` that threw — or failed `load()` outright. An observer is a
 * spectator: what it throws is reported once, as a process warning, and the lifecycle goes on.
 *
 * @throws InvalidOptions when `inspect` is neither a function nor an object whose `next` (if
 * any) is a function.
 *
 * @example
 * ```ts
 * const inspect = guardInspect(createWebSocketInspector({ url }).inspect);
 * createActor(machine, { inspect });
 * ```
 */
export function guardInspect(inspect: unknown): ((event: InspectionEvent) => void) | undefined {
  if (inspect === undefined) return undefined;
  let next: (event: InspectionEvent) => void;
  if (typeof inspect === 'function') {
    next = inspect as (event: InspectionEvent) => void;
  } else if (typeof inspect === 'object' && inspect !== null) {
    const observer = inspect as { next?: unknown };
    const method = observer.next;
    if (method === undefined) return undefined;
    if (typeof method !== 'function') throw new InvalidOptions(`inspect.next must be a function, got ${typeof method}`);
    next = (event) => {
      (method as (this: unknown, event: InspectionEvent) => void).call(observer, event);
    };
  } else {
    throw new InvalidOptions('inspect must be a function or an observer ({ next(event) })');
  }
  let warned = false;
  return (event) => {
    try {
      next(event);
    } catch (error) {
      if (warned) return;
      warned = true;
      process.emitWarning(`the inspect observer threw (its errors are ignored; the runtime goes on): ${messageOf(error)}`, { code: 'PLUGIN_SEAM_INSPECT_THREW' });
    }
  };
}
