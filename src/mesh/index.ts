// The core errors this pattern throws, with their type guards: import them from here.
export {
  AbortedError,
  ClosedError,
  ConfigError,
  type ConfigProblem,
  DependencyMissingError,
  InvalidArgumentError,
  isAbortedError,
  isClosedError,
  isConfigError,
  isDependencyMissingError,
  isInvalidArgumentError,
  isSluiceError,
  isTimeoutError,
  SluiceError,
  TimeoutError,
} from '../core/errors.js';
export { Authorizer, type Decision } from './authorization.js';
export type { MeshControl, MeshEndpoint, WorkloadIdentity } from './contract.js';
export { isMeshError, MeshError, type MeshErrorCode } from './errors.js';
export {
  type AuthorizationConfig,
  type AuthorizationRuleConfig,
  compileSidecarPolicy,
  DEFAULT_UPSTREAM_POLICY,
  type SidecarPolicy,
  type SidecarPolicyConfig,
  type UpstreamPolicy,
  type UpstreamPolicyConfig,
} from './policy.js';
export { authorizationSchema, sidecarPolicySchema, upstreamPolicySchema } from './policy-schema.js';
export { PEER_IDENTITY_HEADER } from './sidecar/inbound.js';
export {
  Sidecar,
  type SidecarAddresses,
  type SidecarOptions,
  type SidecarUpstream,
} from './sidecar/sidecar.js';
export { parseSpiffeId, type SpiffeId, spiffeIdOfCertificate } from './spiffe.js';
