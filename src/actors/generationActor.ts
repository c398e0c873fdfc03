import { fromCallback } from 'xstate';
import type { GenerationSession } from '../adapters/Adapter.js';
import { GenerationFault } from '../adapters/Adapter.js';
import { messageOf } from '../errors.js';
import type { Fault, GenerationCommand, GenerationInput, GenerationReport } from '../machines/lifecycleTypes.js';

/** What the generation actor needs from its plugin instance. */
export interface GenerationHost {
  /** Launches generation `generation` through the adapter and attaches it to the data plane. */
  launch(generation: number, report: (event: GenerationReport) => void): GenerationSession;
  /** Detaches and disposes the generation: fences its output and settles its pending inputs. */
  detach(generation: number): void;
  /**
   * What the plugin threw when its start or stop failed, just before that failure is
   * reported: the machine's records are plain data, so the value itself is kept beside them
   * (the `cause` of the error the application gets).
   */
  threw(generation: number, thrown: unknown): void;
}

function faultOf(error: unknown): Fault {
  if (error instanceof GenerationFault) return error.fault;
  return { cause: 'threw', detail: messageOf(error) };
}

/**
 * The effect behind the lifecycle machine's `generation` state: one invocation is one
 * generation of the plugin. It starts the session and reports `gen.ready` or
 * `gen.startFailed`; on the machine's `stop` it stops the session (after a start still in
 * progress has settled) and reports `gen.stopped` or `gen.stopFailed`. Leaving the state
 * disposes the invocation, which detaches and disposes the session: whatever the reason the
 * machine left (stop, timeout, loss, shutdown), the generation ends with it.
 */
export function createGenerationLogic(host: GenerationHost) {
  return fromCallback<GenerationCommand, GenerationInput, GenerationReport>(({ input, sendBack, receive }) => {
    const { generation } = input;
    let ended = false;
    const failed = (error: unknown): Fault => {
      // Not once the invocation is gone (a start that failed after its deadline): nothing reports it.
      if (!ended && error instanceof GenerationFault && error.thrown !== undefined) host.threw(generation, error.thrown);
      return faultOf(error);
    };
    // Nothing reaches the machine once this invocation is disposed; the machine also
    // guards every report by generation, this just keeps stale events off its queue.
    const report = (event: GenerationReport): void => {
      if (!ended) sendBack(event);
    };
    let session: GenerationSession;
    try {
      session = host.launch(generation, report);
    } catch (error) {
      // An adapter that cannot even begin (no descriptors for a segment, say) fails the start
      // like any other startup failure, instead of throwing into the machine and leaving
      // start() pending for good.
      queueMicrotask(() => {
        report({ type: 'gen.startFailed', generation, fault: faultOf(error) });
      });
      return () => {
        ended = true;
        host.detach(generation);
      };
    }
    let startSettled = false;
    let started = false;
    let stopRequested = false;

    const stop = (): void => {
      if (!started) {
        // The start was cancelled or failed while a stop was pending: nothing ran, nothing to stop.
        report({ type: 'gen.stopped', generation });
        return;
      }
      session.stop().then(
        () => {
          report({ type: 'gen.stopped', generation });
        },
        (error: unknown) => {
          report({ type: 'gen.stopFailed', generation, fault: failed(error) });
        },
      );
    };

    session.start().then(
      () => {
        startSettled = true;
        started = true;
        if (stopRequested) stop();
        else report({ type: 'gen.ready', generation });
      },
      (error: unknown) => {
        startSettled = true;
        const fault = failed(error);
        // A start that fails once a stop was asked is that stop's failure (a teardown), not
        // a clean stop: the generation failed, and it is classified once, as such.
        if (stopRequested && fault.cause !== 'cancelled') report({ type: 'gen.stopFailed', generation, fault });
        else if (stopRequested) stop();
        else report({ type: 'gen.startFailed', generation, fault });
      },
    );

    receive((command) => {
      if (command.type !== 'stop' || stopRequested) return;
      stopRequested = true;
      if (startSettled) stop();
    });

    return () => {
      ended = true;
      host.detach(generation);
    };
  });
}
