export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  type ConfigCheck,
  closestName,
  type Env,
  formatPath,
  type Interpolated,
  interpolate,
  type LoadConfigOptions,
  loadConfig,
  type ParseConfigOptions,
  type PathProblem,
  type PathSegment,
  parseConfig,
  type SchemaObject,
} from './config/index.js';
export { Countdown, deadlineSignal } from './deadline.js';
export * from './diagnostics.js';
export * from './errors.js';
export { createIdGenerator, idTimestamp, isId, newId } from './ids.js';
export {
  type Component,
  Lifecycle,
  type LifecycleEvent,
  type LifecycleOptions,
  type LifecycleState,
  type StopOptions,
  type StopReport,
} from './lifecycle.js';
export { loadOptional, requireInstalled } from './optional.js';
export { type HandleSignalsOptions, handleSignals } from './shutdown.js';
export {
  abortError,
  anySignal,
  type CombinedSignal,
  type SleepOptions,
  sleep,
  throwIfAborted,
} from './signals.js';
export {
  Deadline,
  DeadlineScheduler,
  type DeadlineSchedulerOptions,
  deadlines,
  type WheelEntry,
} from './timers.js';
export {
  isUnit,
  parseDuration,
  parsePercent,
  parseRate,
  parseSize,
  type Rate,
  type UnitKind,
  unitExamples,
} from './units.js';
