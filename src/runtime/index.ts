export * from './config/index.js';
export { isServiceNotReadyError, ServiceNotReadyError } from './errors.js';
export { GatewayComponent } from './gateway.js';
export type { InstanceInfo, InstanceState } from './instance.js';
export { type LogFormat, LogSink, type LogSinkOptions, type LogSource } from './logs.js';
export { planService, type ServicePlan } from './plan.js';
export {
  type StartSystemOptions,
  type System,
  type SystemView,
  startSystem,
  type UpstreamRoute,
} from './system.js';
