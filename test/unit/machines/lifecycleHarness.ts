// A fake generation for unit tests of the pure lifecycle machine: the test plays the
// adapter, reporting ready / failures / heartbeats by hand, on a simulated clock.
import { SimulatedClock, createActor, fromCallback } from 'xstate';
import type { Actor } from 'xstate';
import type { GenerationCommand, GenerationInput, GenerationReport, LifecycleInput } from '../../../src/machines/lifecycleTypes.js';
import type { Fault } from '../../../src/machines/lifecycleTypes.js';
import { lifecycleStateOf, pluginLifecycleMachine } from '../../../src/machines/pluginLifecycleMachine.js';

export interface FakeGeneration {
  readonly generation: number;
  readonly commands: GenerationCommand['type'][];
  disposed: boolean;
  report(event: GenerationReport): void;
}

export interface MachineHarness {
  readonly actor: Actor<typeof pluginLifecycleMachine>;
  readonly clock: SimulatedClock;
  readonly generations: FakeGeneration[];
  /** The fake of the current generation. */
  gen(): FakeGeneration;
  state(): string;
  ready(): void;
  startFailed(fault?: Fault): void;
  lost(fault?: Fault): void;
  stopped(): void;
  stopFailed(fault?: Fault): void;
  heartbeat(): void;
}

export const defaultInput: LifecycleInput = {
  id: 'unit',
  mode: 'inline',
  timeouts: { start: 1_000, stop: 1_000, heartbeat: 0 },
  supervision: {
    policy: 'permanent',
    intensity: { maxRestarts: 3, withinMs: 10_000 },
    startup: { maxRestarts: 2, withinMs: 10_000 },
    backoff: { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 },
    resetAfterMs: 5_000,
    onInputError: 'continue',
  },
  seed: 1,
};

export function machineHarness(overrides: Partial<LifecycleInput> = {}, clock = new SimulatedClock()): MachineHarness {
  const generations: FakeGeneration[] = [];
  const machine = pluginLifecycleMachine.provide({
    actors: {
      generation: fromCallback<GenerationCommand, GenerationInput, GenerationReport>(({ input, sendBack, receive }) => {
        const fake: FakeGeneration = {
          generation: input.generation,
          commands: [],
          disposed: false,
          report: (event) => {
            sendBack(event);
          },
        };
        generations.push(fake);
        receive((command) => fake.commands.push(command.type));
        return () => {
          fake.disposed = true;
        };
      }),
    },
  });
  const actor = createActor(machine, { input: { ...defaultInput, ...overrides }, clock });
  actor.start();
  const gen = (): FakeGeneration => {
    const last = generations.at(-1);
    if (last === undefined) throw new Error('no generation launched yet');
    return last;
  };
  const current = (): number => actor.getSnapshot().context.generation;
  return {
    actor,
    clock,
    generations,
    gen,
    state: () => lifecycleStateOf(actor.getSnapshot()),
    ready: () => {
      gen().report({ type: 'gen.ready', generation: current() });
    },
    startFailed: (fault = { cause: 'threw', detail: 'boom' }) => {
      gen().report({ type: 'gen.startFailed', generation: current(), fault });
    },
    lost: (fault = { cause: 'exit', exitCode: 1 }) => {
      gen().report({ type: 'gen.lost', generation: current(), fault });
    },
    stopped: () => {
      gen().report({ type: 'gen.stopped', generation: current() });
    },
    stopFailed: (fault = { cause: 'threw', detail: 'stop boom' }) => {
      gen().report({ type: 'gen.stopFailed', generation: current(), fault });
    },
    heartbeat: () => {
      gen().report({ type: 'gen.heartbeat', generation: current() });
    },
  };
}
