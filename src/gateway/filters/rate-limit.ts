import { parseDuration, parseRate } from '../../core/units.js';
import { gcra, type RateLimitDecision, type RateLimiter, redisGcra } from '../../flow/index.js';
import { clusterRateLimiter, inClusterWorker } from '../cluster-limiter.js';
import type { CompileEnv } from '../compile.js';
import type { RateLimitConfig, RouteConfig } from '../config.js';
import { HttpProblemError } from '../errors.js';
import type { Filter, GatewayContext, ResponseHeaders } from '../types.js';

function keyOf(by: RateLimitConfig['by'], context: GatewayContext): string {
  switch (by) {
    case 'ip':
      return `ip:${context.clientIp}`;
    case 'subject':
      return context.subject === undefined ? `ip:${context.clientIp}` : `sub:${context.subject}`;
    case 'apiKey':
      return context.credential === 'apiKey' ? `key:${context.subject}` : `ip:${context.clientIp}`;
    case 'clientCert':
      return context.clientSubject === undefined
        ? `ip:${context.clientIp}`
        : `cert:${context.clientSubject}`;
    case 'route':
      return 'route';
  }
}

function limiterFor(config: RateLimitConfig, name: string, env: CompileEnv): RateLimiter {
  const { limit, periodMs } = parseRate(config.limit);
  const burst = config.burst ?? limit;
  if (config.store === undefined) {
    if (env.workers > 1 && inClusterWorker())
      return clusterRateLimiter({ name, limit, periodMs, burst });
    return gcra({ name, limit, periodMs, burst });
  }
  if (!/^rediss?:\/\//.test(config.store)) {
    throw new HttpProblemError(500, 'config', `rate limit "${name}": store must be a redis:// URL`);
  }
  const limiter = redisGcra({
    name,
    url: config.store,
    limit,
    periodMs,
    burst,
    onStoreError: config.onStoreError ?? 'fail-open',
    timeoutMs: parseDuration(config.storeTimeout ?? '100ms'),
  });
  env.closers.push(() => limiter.close());
  return limiter;
}

const seconds = (ms: number): string => String(Math.max(0, Math.ceil(ms / 1000)));

/**
 * Every limit of the route must admit the request. Headers describe the tightest limit,
 * in the RateLimit-Limit/-Remaining/-Reset form of the IETF draft, plus Retry-After on 429.
 */
export function rateLimitFilter(
  route: RouteConfig,
  env: CompileEnv,
  routeName: string,
): Filter | null {
  if (route.rateLimit === undefined) return null;
  const configs = Array.isArray(route.rateLimit) ? route.rateLimit : [route.rateLimit];
  if (configs.length === 0) return null;
  const limits = configs.map((config, i) => {
    const name = config.name ?? (configs.length === 1 ? routeName : `${routeName}#${i}`);
    const limiter = limiterFor(config, name, env);
    env.limiters.set(name, {
      route: routeName,
      by: config.by,
      limit: config.limit,
      store: config.store === undefined ? 'memory' : 'redis',
      limiter,
    });
    return { by: config.by, limiter };
  });

  /** Takes from the limits from `first` on, awaiting the stores that answer later. */
  const takeRest = async (
    context: GatewayContext,
    first: number,
    pending: Promise<RateLimitDecision>,
    tightest: RateLimitDecision | undefined,
  ): Promise<RateLimitDecision> => {
    let tightestSoFar = tightest;
    for (let i = first; i < limits.length; i++) {
      const { by, limiter } = limits[i]!;
      const decision = i === first ? await pending : await limiter.take(keyOf(by, context));
      if (!decision.allowed) throw rejection(decision);
      tightestSoFar = tighter(tightestSoFar, decision);
    }
    return tightestSoFar!;
  };

  // Not an async function: local limits decide at once, and a request they admit goes on
  // without making a promise. Refusals are rejected promises, as callers of a filter expect.
  return (next) => (request, context) => {
    let tightest: RateLimitDecision | undefined;
    for (let i = 0; i < limits.length; i++) {
      const { by, limiter } = limits[i]!;
      const decision = limiter.take(keyOf(by, context));
      if (decision instanceof Promise) {
        return takeRest(context, i, decision, tightest).then((last) => {
          setHeaders(context.responseHeaders, last);
          return next(request, context);
        });
      }
      if (!decision.allowed) return Promise.reject(rejection(decision));
      tightest = tighter(tightest, decision);
    }
    setHeaders(context.responseHeaders, tightest!);
    return next(request, context);
  };
}

function tighter(
  tightest: RateLimitDecision | undefined,
  decision: RateLimitDecision,
): RateLimitDecision {
  return tightest === undefined || decision.remaining < tightest.remaining ? decision : tightest;
}

function rejection(decision: RateLimitDecision): HttpProblemError {
  const headers: ResponseHeaders = {};
  setHeaders(headers, decision);
  headers['retry-after'] = seconds(Math.max(decision.retryAfterMs, 1));
  return new HttpProblemError(429, 'rate-limited', 'Too many requests; slow down', headers);
}

function setHeaders(headers: ResponseHeaders, decision: RateLimitDecision): void {
  headers['ratelimit-limit'] = String(decision.limit);
  headers['ratelimit-remaining'] = String(decision.remaining);
  headers['ratelimit-reset'] = seconds(decision.resetAfterMs);
}
