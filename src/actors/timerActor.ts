import { fromCallback } from 'xstate';
import type { EventObject } from 'xstate';
import type { LifecycleTimerEvent, TimerInput } from '../machines/lifecycleTypes.js';
import type { RuntimeClock } from './RuntimeClock.js';

/**
 * The effect behind the lifecycle machine's `timer` actors (backoff, the stable period, each
 * intensity window): sends `input.event` back once `input.ms` have passed on `clock`, and
 * nothing once it is stopped. These are periods, not deadlines: the runtime runs them on
 * wall time (`wallClock`) — a deadline's give-back (realClock) stretched a restart window
 * with the host's load, up to twice, and a plugin that crashed every 1–2 windows was given
 * up. Under a `SimulatedClock` they run on it, like every other timer.
 *
 * @example
 * ```ts
 * const machine = pluginLifecycleMachine.provide({ actors: { timer: createTimerLogic(wallClock) } });
 * ```
 */
export function createTimerLogic(clock: RuntimeClock) {
  return fromCallback<EventObject, TimerInput, LifecycleTimerEvent>(({ input, sendBack }) => {
    const id = clock.setTimeout(() => {
      sendBack(input.event);
    }, input.ms);
    // Clearing a timer that has fired does nothing, on any clock.
    return () => {
      clock.clearTimeout(id);
    };
  });
}
