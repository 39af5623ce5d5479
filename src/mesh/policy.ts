import { problemsOf } from '../core/config/options.js';
import { ConfigError, type ConfigProblem } from '../core/errors.js';
import { parseDuration, parsePercent } from '../core/units.js';
import { type RULE_METHODS, sidecarPolicySchema } from './policy-schema.js';

type Duration = string | number;
type Percent = string | number;

/** `services.<name>.policies.<upstream>` as written in sluice.yaml. */
export interface UpstreamPolicyConfig {
  timeout?: Duration;
  retry?: {
    attempts?: number;
    backoff?: 'constant' | 'exponential' | 'decorrelated';
    delay?: Duration;
    maxDelay?: Duration;
    budget?: Percent;
    minPerSecond?: number;
    budgetWindow?: Duration;
  };
  breaker?: {
    consecutiveFailures?: number;
    failureRate?: Percent;
    slowCallRate?: Percent;
    slowCall?: Duration;
    minimumCalls?: number;
    window?: Duration;
    openFor?: Duration;
    maxOpenFor?: Duration;
  };
  outlierDetection?: {
    consecutiveErrors?: number;
    ejectionTime?: Duration;
    maxEjectionPercent?: Percent;
  };
  split?: { version: string; weight: number }[];
  bulkhead?: number | { max: number; queue?: number; queueTimeout?: Duration };
}

export interface AuthorizationRuleConfig {
  name: string;
  from: string[];
  action: 'allow' | 'deny';
  methods?: (typeof RULE_METHODS)[number][];
  path?: string;
  pathPrefix?: string;
}

export interface AuthorizationConfig {
  default?: 'allow' | 'deny';
  rules?: AuthorizationRuleConfig[];
}

/** The opaque JSON the control plane hands a sidecar. */
export interface SidecarPolicyConfig {
  policies?: Record<string, UpstreamPolicyConfig>;
  authorization?: AuthorizationConfig;
}

/** One upstream's policy with units resolved and Linkerd's defaults filled in. */
export interface UpstreamPolicy {
  timeoutMs: number;
  retry: {
    attempts: number;
    backoff: 'constant' | 'exponential' | 'decorrelated';
    delayMs: number;
    maxDelayMs: number;
    ratio: number;
    minPerSecond: number;
    windowMs: number;
  };
  breaker: {
    consecutiveFailures: number;
    /** Windowed rates, only when the policy asks for them. */
    failureRate?: number;
    slowCallRate?: number;
    slowCallMs?: number;
    minimumCalls?: number;
    windowMs?: number;
    openForMs: number;
    maxOpenForMs: number;
  };
  outlier: { consecutiveErrors: number; ejectionMs: number; maxEjectionRatio: number };
  split: readonly { version: string; weight: number }[];
  bulkhead?: { max: number; queue: number; queueTimeoutMs?: number };
}

export interface SidecarPolicy {
  /** The policy of an upstream, or the defaults for one the YAML does not name. */
  upstream(name: string): UpstreamPolicy;
  readonly authorization: AuthorizationConfig;
}

export const DEFAULT_UPSTREAM_POLICY: UpstreamPolicy = Object.freeze({
  timeoutMs: 10_000,
  retry: {
    attempts: 1,
    backoff: 'exponential',
    delayMs: 25,
    maxDelayMs: 1000,
    ratio: 0.2,
    minPerSecond: 10,
    windowMs: 10_000,
  },
  // Linkerd's failure accrual: 7 in a row, penalty 1 s growing to 1 min.
  breaker: { consecutiveFailures: 7, openForMs: 1000, maxOpenForMs: 60_000 },
  outlier: { consecutiveErrors: 5, ejectionMs: 30_000, maxEjectionRatio: 0.5 },
  split: [],
}) as UpstreamPolicy;

function resolveUpstream(config: UpstreamPolicyConfig): UpstreamPolicy {
  const d = DEFAULT_UPSTREAM_POLICY;
  const r = config.retry ?? {};
  const b = config.breaker ?? {};
  const o = config.outlierDetection ?? {};
  const ms = (value: Duration | undefined, fallback: number): number =>
    value === undefined ? fallback : parseDuration(value);
  const windowed =
    b.failureRate !== undefined || b.slowCallRate !== undefined || b.window !== undefined;
  const bulkhead = config.bulkhead;
  return {
    timeoutMs: ms(config.timeout, d.timeoutMs),
    retry: {
      attempts: r.attempts ?? (config.retry ? 3 : 1),
      backoff: r.backoff ?? d.retry.backoff,
      delayMs: ms(r.delay, d.retry.delayMs),
      maxDelayMs: ms(r.maxDelay, d.retry.maxDelayMs),
      ratio: r.budget === undefined ? d.retry.ratio : parsePercent(r.budget),
      minPerSecond: r.minPerSecond ?? d.retry.minPerSecond,
      windowMs: ms(r.budgetWindow, d.retry.windowMs),
    },
    breaker: {
      consecutiveFailures: b.consecutiveFailures ?? d.breaker.consecutiveFailures,
      ...(windowed
        ? {
            failureRate: b.failureRate === undefined ? 0.5 : parsePercent(b.failureRate),
            windowMs: ms(b.window, 10_000),
            minimumCalls: b.minimumCalls ?? 20,
          }
        : {}),
      ...(b.slowCall === undefined
        ? {}
        : {
            slowCallMs: parseDuration(b.slowCall),
            slowCallRate: b.slowCallRate === undefined ? 1 : parsePercent(b.slowCallRate),
          }),
      openForMs: ms(b.openFor, d.breaker.openForMs),
      maxOpenForMs: ms(b.maxOpenFor, d.breaker.maxOpenForMs),
    },
    outlier: {
      consecutiveErrors: o.consecutiveErrors ?? d.outlier.consecutiveErrors,
      ejectionMs: ms(o.ejectionTime, d.outlier.ejectionMs),
      maxEjectionRatio:
        o.maxEjectionPercent === undefined
          ? d.outlier.maxEjectionRatio
          : parsePercent(o.maxEjectionPercent),
    },
    split: config.split ?? [],
    ...(bulkhead === undefined
      ? {}
      : typeof bulkhead === 'number'
        ? { bulkhead: { max: bulkhead, queue: 0 } }
        : {
            bulkhead: {
              max: bulkhead.max,
              queue: bulkhead.queue ?? 0,
              ...(bulkhead.queueTimeout === undefined
                ? {}
                : { queueTimeoutMs: parseDuration(bulkhead.queueTimeout) }),
            },
          }),
  };
}

/** Problems the schema cannot express: rules that match two ways, splits that weigh nothing. */
function crossChecks(config: SidecarPolicyConfig, where: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const problem = (path: string, message: string): void => {
    problems.push({ file: where, line: 0, column: 0, path, message });
  };
  const names = new Set<string>();
  config.authorization?.rules?.forEach((rule, index) => {
    const at = `authorization.rules[${index}]`;
    if (rule.path !== undefined && rule.pathPrefix !== undefined) {
      problem(at, 'give path or pathPrefix, not both');
    }
    if (names.has(rule.name)) problem(`${at}.name`, `the rule name "${rule.name}" is used twice`);
    names.add(rule.name);
  });
  for (const [upstream, policy] of Object.entries(config.policies ?? {})) {
    const split = policy.split;
    if (split === undefined) continue;
    const at = `policies.${upstream}.split`;
    if (!split.some((s) => s.weight > 0)) problem(at, 'at least one version needs a weight > 0');
    const versions = new Set(split.map((s) => s.version));
    if (versions.size !== split.length) problem(at, 'a version is listed twice');
  }
  return problems;
}

/**
 * Validates the policy JSON a sidecar is given and resolves it. A bad policy throws one
 * ConfigError (`SLUICE_CONFIG_INVALID`) listing every problem, so the caller keeps the
 * policy it has: a policy is swapped whole or not at all.
 */
export function compileSidecarPolicy(json: unknown, where = '<mesh policy>'): SidecarPolicy {
  const invalid = problemsOf(sidecarPolicySchema, json);
  if (invalid.length > 0) {
    throw new ConfigError(invalid.map((p) => ({ file: where, line: 0, column: 0, ...p })));
  }
  const config = json as SidecarPolicyConfig;
  const problems = crossChecks(config, where);
  if (problems.length > 0) throw new ConfigError(problems);
  const resolved = new Map<string, UpstreamPolicy>();
  for (const [upstream, policy] of Object.entries(config.policies ?? {})) {
    resolved.set(upstream, Object.freeze(resolveUpstream(policy)));
  }
  const authorization = config.authorization ?? {};
  return {
    upstream: (name) => resolved.get(name) ?? DEFAULT_UPSTREAM_POLICY,
    authorization,
  };
}
