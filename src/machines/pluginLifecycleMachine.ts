import { assign, cancel, enqueueActions, fromCallback, sendTo, setup, stopChild } from 'xstate';
import type { EventObject, SnapshotFrom } from 'xstate';
import { computeBackoff } from './computeBackoff.js';
import type {
  Failure,
  Fault,
  GenerationCommand,
  GenerationInput,
  GenerationReport,
  LifecycleEvent,
  LifecycleInput,
  LifecycleState,
  LifecycleTimeouts,
  LifecycleTimerEvent,
  Mode,
  SupervisionSettings,
  TimerInput,
} from './lifecycleTypes.js';

/** Context of the lifecycle machine. Everything here is plain data (inspectable, serialisable). */
export interface LifecycleContext {
  readonly id: string;
  readonly mode: Mode;
  readonly timeouts: LifecycleTimeouts;
  readonly supervision: SupervisionSettings;
  /** The current (or last) generation; 0 before the first launch. */
  readonly generation: number;
  /** Where the instance returns after a restart: `running` once `run` was asked, until `pause`. */
  readonly desired: 'started' | 'running';
  /** The failure that put the instance in `failed`; undefined in every other state. */
  readonly failure: Failure | undefined;
  /** The most recent failure, kept after recovery for diagnostics. */
  readonly lastFailure: Failure | undefined;
  /** Number of failures classified so far (one per failed generation). */
  readonly failures: number;
  /** Number of automatic restarts so far. */
  readonly restarts: number;
  /** Automatic restarts inside the current intensity windows. */
  readonly recentLost: number;
  readonly recentStartup: number;
  /** Bumped when budgets are reset, so window expiries of an older budget are ignored. */
  readonly budgetEpoch: number;
  /**
   * Intensity windows still open (their `window.expired` pending), by number: cancelled when
   * the instance stops or fails for good, where no budget is read any more — a window's timer
   * (a minute by default) would otherwise keep a stopped process alive until it fires.
   */
  readonly windows: readonly number[];
  /** Number of the next window scheduled. */
  readonly nextWindow: number;
  /** Backoff attempt, reset after a stable period. */
  readonly attempt: number;
  /** Delay of the restart scheduled in `failed.backoff`. */
  readonly backoffMs: number;
  /** Jitter generator state. */
  readonly rng: number;
  /** True in `failed` when no restart will follow because a budget is spent. */
  readonly exhausted: boolean;
}

/** The event a default `timer` schedules for itself, and the id it schedules it under. */
const TIMER_DUE = 'timer.due';

/** The id of intensity window `window`'s timer actor (to stop it). */
function windowId(window: number): string {
  return `window.${window}`;
}

/**
 * A share of `limits.maxHeapMb` (the old generation's use, what the limit bounds) at or above
 * which a missed heartbeat is the heap's doing. Near its limit V8 collects again and again,
 * each collection holding the thread (measured, workers leaking under 128 and 256 MiB: 0.15–0.3
 * s without a beat before the out-of-memory end, 1.2 s under 1 GiB), so a shorter deadline
 * ended them `unresponsive`. The last use seen before that end was 77–99 % of the limit
 * (lower under small limits, where the young generation holds more): at 90 % the label is
 * clearly right; below it a missed beat stays `unresponsive`, as it was.
 */
const HEAP_NEAR_LIMIT = 0.9;

/** The fault of a missed heartbeat: `oom` when the last beat said the heap was near its limit. */
function missedHeartbeat(deadlineMs: number, heapShare: number | undefined): Fault {
  const detail = `no heartbeat within ${deadlineMs} ms`;
  if (heapShare === undefined || heapShare < HEAP_NEAR_LIMIT) return { cause: 'unresponsive', detail };
  return { cause: 'oom', detail: `${detail}, its JavaScript heap at ${Math.round(heapShare * 100)} % of limits.maxHeapMb at the last one (collections near the limit hold its thread)` };
}

const isCurrent = ({ context, event }: { context: LifecycleContext; event: LifecycleEvent }): boolean =>
  'generation' in event && event.generation === context.generation;

function classify(cls: Failure['class'], generation: number, fault: Fault): Failure {
  return { ...fault, class: cls, generation };
}

/**
 * The plugin lifecycle with supervision, as a pure XState machine.
 *
 * `loaded → starting → started → running ⇄ started → stopping → stopped`, and `failed`
 * carrying a classified failure (`startup`, `lost`, `teardown`). Each launch is a new
 * generation: entering `generation` invokes the `generation` actor (the adapter), leaving it
 * disposes that actor, so a generation can never outlive its state. Deadlines (start, stop,
 * heartbeat) are delays read from context, on the actor's clock; periods (backoff, intensity
 * windows, stable reset) are invoked `timer` actors, so the runtime can run them on wall time
 * while a deadline gives back a stall of the host (see realClock). Tests drive both with
 * `SimulatedClock`.
 *
 * The `generation` actor here is a placeholder; the runtime provides the real one with
 * `machine.provide({ actors: { generation } })`, and a `timer` on wall time. The default
 * `timer` runs on the actor's clock. The machine never sees a worker, a process, a transport
 * or an input.
 */
export const pluginLifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as LifecycleInput,
  },
  actors: {
    generation: fromCallback<GenerationCommand, GenerationInput, GenerationReport>(() => undefined),
    // By default on the actor system's own clock (a SimulatedClock in tests): a machine used
    // on its own still backs off, expires windows and resets. The runtime provides one on wall
    // time (createTimerLogic).
    timer: fromCallback<EventObject, TimerInput, LifecycleTimerEvent>(({ input, system, self, sendBack, receive }) => {
      receive((event) => {
        if (event.type === TIMER_DUE) sendBack(input.event);
      });
      system.scheduler.schedule(self, self, { type: TIMER_DUE }, input.ms, TIMER_DUE);
      return () => {
        system.scheduler.cancel(self, TIMER_DUE);
      };
    }),
  },
  delays: {
    startTimeout: ({ context }) => context.timeouts.start,
    stopTimeout: ({ context }) => context.timeouts.stop,
  },
  guards: {
    isCurrent,
    wantsRunning: ({ context }) => context.desired === 'running',
    restartOnInputError: ({ context, event }) =>
      isCurrent({ context, event }) && context.supervision.onInputError === 'restart',
    mayRestart: ({ context }) => {
      const failure = context.failure;
      const { policy, intensity, startup } = context.supervision;
      if (failure === undefined || failure.class === 'teardown' || policy === 'never') return false;
      // A clean exit 0 ends a transient instance whenever it comes, during start-up too.
      if (policy === 'transient' && failure.cause === 'exit' && failure.exitCode === 0) return false;
      if (failure.class === 'startup') return context.recentStartup < startup.maxRestarts;
      return context.recentLost < intensity.maxRestarts;
    },
  },
  actions: {
    beginGeneration: assign(({ context }) => ({ generation: context.generation + 1, failure: undefined })),
    wantRunning: assign({ desired: 'running' as const }),
    wantStarted: assign({ desired: 'started' as const }),
    stopGeneration: sendTo('generation', { type: 'stop' } satisfies GenerationCommand),
    armHeartbeat: enqueueActions(({ context, event, enqueue }) => {
      if (context.timeouts.heartbeat <= 0) return;
      enqueue.cancel('heartbeat');
      // The beat's heap share rides with the deadline it sets: what classifies its expiry.
      const heapShare = event.type === 'gen.heartbeat' ? event.heapShare : undefined;
      enqueue.raise(
        { type: 'heartbeat.expired', generation: context.generation, ...(heapShare === undefined ? {} : { heapShare }) },
        { id: 'heartbeat', delay: context.timeouts.heartbeat },
      );
    }),
    disarmHeartbeat: cancel('heartbeat'),
    resetAttempt: assign({ attempt: 0 }),
    fail: assign(({ context }, failure: Failure) => ({
      failure,
      lastFailure: failure,
      failures: context.failures + 1,
    })),
    scheduleRestart: enqueueActions(({ context, enqueue }) => {
      const budget = context.failure?.class === 'startup' ? 'startup' : 'lost';
      const windowMs = budget === 'startup' ? context.supervision.startup.withinMs : context.supervision.intensity.withinMs;
      const { delayMs, rng } = computeBackoff(context.supervision.backoff, context.attempt, context.rng);
      const window = context.nextWindow;
      enqueue.assign({
        backoffMs: delayMs,
        rng,
        attempt: context.attempt + 1,
        exhausted: false,
        recentLost: context.recentLost + (budget === 'lost' ? 1 : 0),
        recentStartup: context.recentStartup + (budget === 'startup' ? 1 : 0),
        windows: [...context.windows, window],
        nextWindow: window + 1,
      });
      enqueue.spawnChild('timer', { id: windowId(window), input: { ms: windowMs, event: { type: 'window.expired', budget, epoch: context.budgetEpoch, window } } });
    }),
    closeWindows: enqueueActions(({ context, enqueue }) => {
      for (const window of context.windows) enqueue.stopChild(windowId(window));
      enqueue.assign({ windows: [] });
    }),
    countRestart: assign(({ context }) => ({ restarts: context.restarts + 1 })),
    giveUp: assign(({ context }) => ({
      // Exhausted only when a budget said no; a policy or a teardown failure is simply final.
      exhausted:
        context.failure !== undefined &&
        context.failure.class !== 'teardown' &&
        context.supervision.policy !== 'never' &&
        !(context.supervision.policy === 'transient' && context.failure.cause === 'exit' && context.failure.exitCode === 0),
    })),
    expireWindow: assign(({ context, event }) => {
      if (event.type !== 'window.expired') return {};
      const windows = context.windows.filter((window) => window !== event.window);
      if (event.epoch !== context.budgetEpoch) return { windows };
      return event.budget === 'lost'
        ? { windows, recentLost: Math.max(0, context.recentLost - 1) }
        : { windows, recentStartup: Math.max(0, context.recentStartup - 1) };
    }),
    resetBudgets: assign(({ context }) => ({
      recentLost: 0,
      recentStartup: 0,
      attempt: 0,
      exhausted: false,
      budgetEpoch: context.budgetEpoch + 1,
    })),
    clearFailure: assign({ failure: undefined, exhausted: false }),
  },
}).createMachine({
  id: 'plugin',
  context: ({ input }) => ({
    id: input.id,
    mode: input.mode,
    timeouts: input.timeouts,
    supervision: input.supervision,
    generation: 0,
    desired: 'started',
    failure: undefined,
    lastFailure: undefined,
    failures: 0,
    restarts: 0,
    recentLost: 0,
    recentStartup: 0,
    budgetEpoch: 0,
    windows: [],
    nextWindow: 0,
    attempt: 0,
    backoffMs: 0,
    rng: input.seed | 0,
    exhausted: false,
  }),
  initial: 'loaded',
  on: {
    'window.expired': { actions: ['expireWindow', stopChild(({ event }) => windowId(event.window))] },
  },
  states: {
    loaded: {
      on: {
        start: { target: 'generation', actions: 'wantStarted' },
        // Inputs may be queued before the first start; stopping settles them.
        stop: 'stopped',
      },
    },
    generation: {
      entry: 'beginGeneration',
      exit: 'disarmHeartbeat',
      invoke: {
        id: 'generation',
        src: 'generation',
        input: ({ context }) => ({ id: context.id, mode: context.mode, generation: context.generation }),
      },
      initial: 'starting',
      states: {
        starting: {
          after: {
            startTimeout: {
              target: '#plugin.supervising',
              actions: [{ type: 'fail', params: ({ context }) => classify('startup', context.generation, { cause: 'timeout', detail: `start did not complete within ${context.timeouts.start} ms` }) }],
            },
          },
          on: {
            run: { actions: 'wantRunning' },
            pause: { actions: 'wantStarted' },
            'gen.ready': { guard: 'isCurrent', target: 'up' },
            'gen.startFailed': {
              guard: 'isCurrent',
              target: '#plugin.supervising',
              actions: [{ type: 'fail', params: ({ context, event }) => classify('startup', context.generation, event.fault) }],
            },
            'gen.lost': {
              guard: 'isCurrent',
              target: '#plugin.supervising',
              actions: [{ type: 'fail', params: ({ context, event }) => classify('startup', context.generation, event.fault) }],
            },
          },
        },
        up: {
          entry: 'armHeartbeat',
          invoke: { src: 'timer', input: ({ context }) => ({ ms: context.supervision.resetAfterMs, event: { type: 'stable.reached' } }) },
          initial: 'choose',
          on: {
            'stable.reached': { actions: 'resetAttempt' },
            'gen.heartbeat': { guard: 'isCurrent', actions: 'armHeartbeat' },
            'heartbeat.expired': {
              guard: 'isCurrent',
              target: '#plugin.supervising',
              actions: [{ type: 'fail', params: ({ context, event }) => classify('lost', context.generation, missedHeartbeat(context.timeouts.heartbeat, event.heapShare)) }],
            },
            'gen.lost': {
              guard: 'isCurrent',
              target: '#plugin.supervising',
              actions: [{ type: 'fail', params: ({ context, event }) => classify('lost', context.generation, event.fault) }],
            },
            'gen.inputFailed': {
              guard: 'restartOnInputError',
              target: '#plugin.supervising',
              actions: [{ type: 'fail', params: ({ context, event }) => classify('lost', context.generation, { cause: 'threw', detail: event.detail }) }],
            },
          },
          states: {
            choose: {
              always: [{ guard: 'wantsRunning', target: 'running' }, { target: 'started' }],
            },
            started: {
              on: { run: { target: 'running', actions: 'wantRunning' } },
            },
            running: {
              on: { pause: { target: 'started', actions: 'wantStarted' } },
            },
          },
        },
        stopping: {
          entry: 'stopGeneration',
          after: {
            stopTimeout: {
              target: '#plugin.failed.terminal',
              actions: [{ type: 'fail', params: ({ context }) => classify('teardown', context.generation, { cause: 'timeout', detail: `stop did not complete within ${context.timeouts.stop} ms` }) }],
            },
          },
          on: {
            // Stopping is idempotent: a second stop neither re-sends the request nor re-arms the deadline.
            stop: {},
            'gen.stopped': { guard: 'isCurrent', target: '#plugin.stopped' },
            'gen.stopFailed': {
              guard: 'isCurrent',
              target: '#plugin.failed.terminal',
              actions: [{ type: 'fail', params: ({ context, event }) => classify('teardown', context.generation, event.fault) }],
            },
            // A crash after a stop request is a teardown failure, whatever its cause.
            'gen.lost': {
              guard: 'isCurrent',
              target: '#plugin.failed.terminal',
              actions: [{ type: 'fail', params: ({ context, event }) => classify('teardown', context.generation, event.fault) }],
            },
          },
        },
      },
      on: {
        stop: '.stopping',
      },
    },
    // Transient: decides between a scheduled restart and a terminal failure.
    supervising: {
      always: [
        { guard: 'mayRestart', target: 'failed.backoff', actions: 'scheduleRestart' },
        { target: 'failed.terminal', actions: 'giveUp' },
      ],
    },
    failed: {
      initial: 'terminal',
      on: {
        stop: { target: 'stopped', actions: 'clearFailure' },
      },
      states: {
        backoff: {
          invoke: { src: 'timer', input: ({ context }) => ({ ms: context.backoffMs, event: { type: 'backoff.elapsed' } }) },
          on: {
            'backoff.elapsed': { target: '#plugin.generation', actions: 'countRestart' },
            run: { actions: 'wantRunning' },
            pause: { actions: 'wantStarted' },
            // The operator may cut the backoff short. The failure counted against the budget
            // when the restart was scheduled; `restarts` counts only the automatic ones.
            start: { target: '#plugin.generation' },
          },
        },
        terminal: {
          entry: 'closeWindows',
          on: {
            // A manual start after a terminal failure is the operator's decision: fresh budgets.
            start: { target: '#plugin.generation', actions: ['resetBudgets', 'wantStarted'] },
          },
        },
      },
    },
    stopped: {
      entry: 'closeWindows',
      on: { start: { target: 'generation', actions: ['resetBudgets', 'wantStarted'] } },
    },
  },
});

/** The machine's snapshot type. */
export type PluginLifecycleSnapshot = SnapshotFrom<typeof pluginLifecycleMachine>;

/** Maps a machine snapshot to the contract's lifecycle state. */
export function lifecycleStateOf(snapshot: PluginLifecycleSnapshot): LifecycleState {
  if (snapshot.matches('loaded')) return 'loaded';
  if (snapshot.matches('stopped')) return 'stopped';
  if (snapshot.matches('failed') || snapshot.matches('supervising')) return 'failed';
  if (snapshot.matches({ generation: 'starting' })) return 'starting';
  if (snapshot.matches({ generation: 'stopping' })) return 'stopping';
  if (snapshot.matches({ generation: { up: 'running' } })) return 'running';
  return 'started';
}
