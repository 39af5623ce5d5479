// The core errors this pattern throws, with their type guards: import them from here.
export {
  AbortedError,
  ConfigError,
  type ConfigProblem,
  DependencyMissingError,
  EngineUnavailableError,
  InvalidArgumentError,
  isAbortedError,
  isConfigError,
  isDependencyMissingError,
  isEngineUnavailableError,
  isInvalidArgumentError,
  isSluiceError,
  SluiceError,
} from '../core/errors.js';
export { type AdminOptions, type AdminServer, startAdmin } from './admin.js';
export { type Balancer, type BalancerKind, leastRequest, roundRobin } from './balancer.js';
export type {
  CompiledRoute,
  CompileEnv,
  FilterFactory,
  GatewayRuntime,
  LimiterInfo,
  RoutePolicies,
} from './compile.js';
export type {
  AdminConfig,
  ApiKeyConfig,
  AuthConfig,
  CacheConfig,
  ClientCertConfig,
  ConcurrencyConfig,
  CorsConfig,
  Duration,
  FilterName,
  GatewayConfig,
  HeaderRules,
  HealthCheckConfig,
  JwtConfig,
  LimitsConfig,
  RateLimitConfig,
  ResilienceConfig,
  RouteAuth,
  RouteConfig,
  SheddingConfig,
  Size,
  TlsConfig,
  UpstreamConfig,
} from './config.js';
export { loadGatewayConfig } from './config-file.js';
export { gatewayConfigSchema } from './config-schema.js';
export { HttpProblemError, isHttpProblemError, type ProblemExtensions } from './errors.js';
export { hashApiKey } from './filters/api-key.js';
export { builtinFilters } from './filters/builtin.js';
export { Gateway, type GatewayOptions } from './gateway.js';
export type { Exchange } from './handle.js';
export { normaliseTarget, type RequestTarget } from './path.js';
export { errorToResponse, problemResponse } from './problem.js';
export { type RouteMatch, Router } from './router.js';
export {
  chain,
  type Filter,
  type GatewayContext,
  type GatewayRequest,
  type GatewayResponse,
  type Handler,
} from './types.js';
