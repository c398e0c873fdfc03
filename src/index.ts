/**
 * `plugin-seam`: the application's entry point. Plugin authors import `plugin-seam/plugin`.
 */
export { createRuntime } from './actors/createRuntime.js';
export type { Runtime, RuntimeOptions } from './actors/createRuntime.js';
export type { InspectOption } from './actors/guardInspect.js';
export { PluginInstance } from './actors/PluginInstance.js';
export type {
  FrameOptions,
  IsolationOptions,
  LoadOptions,
  LoadOptionsCommon,
  OverflowPolicy,
  PluginConfigOption,
  PluginPlacement,
  RestartOptions,
  TimeoutOptions,
} from './actors/LoadOptions.js';
export type {
  FrameInput,
  FrameOutcome,
  FrameSlot,
  LedgerCounters,
  PluginLog,
  PluginOutput,
  PluginStatus,
} from './actors/instanceTypes.js';
export type { TransportKind } from './adapters/Adapter.js';
export type {
  BackoffSettings,
  Failure,
  Fault,
  GenerationCommand,
  GenerationInput,
  GenerationReport,
  LifecycleCommand,
  LifecycleEvent,
  LifecycleInput,
  LifecycleState,
  LifecycleTimeouts,
  LifecycleTimerEvent,
  Mode,
  RestartBudget,
  RestartPolicy,
  SupervisionSettings,
  TimerInput,
} from './machines/lifecycleTypes.js';
export { pluginLifecycleMachine, lifecycleStateOf } from './machines/pluginLifecycleMachine.js';
export type { LifecycleContext, PluginLifecycleSnapshot } from './machines/pluginLifecycleMachine.js';
export {
  FrameExpired,
  InputDropped,
  InputFailed,
  InputRefused,
  InvalidOptions,
  InvalidPlugin,
  InvalidState,
  LifecycleFailure,
  LostWhileRunning,
  PluginSeamError,
  RestartBudgetExhausted,
  RuntimeShutDown,
  StartCancelled,
  StartupFailed,
  TeardownFailed,
} from './errors.js';
export type { FailureCause, FailureClass, FailureErrorOptions, PluginSeamErrorOptions } from './errors.js';
export type { RuntimeClock } from './actors/RuntimeClock.js';
