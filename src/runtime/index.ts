// The core errors this pattern throws, with their type guards: import them from here.
export {
  AbortedError,
  ClosedError,
  ConfigError,
  type ConfigProblem,
  InvalidArgumentError,
  isAbortedError,
  isClosedError,
  isConfigError,
  isInvalidArgumentError,
  isSluiceError,
  isUnsupportedError,
  SluiceError,
  UnsupportedError,
} from '../core/errors.js';
export * from './config/index.js';
export { fetchSystemStatus, killInstance } from './control-client.js';
export type {
  KilledInstance,
  ServiceStatus,
  SystemStatus,
} from './control-server.js';
export {
  isPortsUnavailableError,
  isServiceNotReadyError,
  isSystemUnreachableError,
  PortsUnavailableError,
  ServiceNotReadyError,
  SystemUnreachableError,
} from './errors.js';
export { type Fault, postFault } from './fault-client.js';
export { GatewayComponent, type GatewayComponentOptions } from './gateway.js';
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
