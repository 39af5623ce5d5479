import { parseDuration, parseRate } from '../../core/units.js';
import { gcra, type RateLimitDecision, type RateLimiter, redisGcra } from '../../flow/index.js';
import { clusterRateLimiter, inClusterWorker } from '../cluster-limiter.js';
import type { CompileEnv } from '../compile.js';
import type { RateLimitConfig, RouteConfig } from '../config.js';
import { HttpProblemError } from '../errors.js';
import type { Filter, GatewayContext } from '../types.js';

function keyOf(by: RateLimitConfig['by'], context: GatewayContext): string {
  switch (by) {
    case 'ip':
      return `ip:${context.clientIp}`;
    case 'subject':
      return context.subject === undefined ? `ip:${context.clientIp}` : `sub:${context.subject}`;
    case 'apiKey':
      return context.credential === 'apiKey' ? `key:${context.subject}` : `ip:${context.clientIp}`;
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

  return (next) => async (request, context) => {
    let tightest: RateLimitDecision | undefined;
    for (const { by, limiter } of limits) {
      const decision = await limiter.take(keyOf(by, context));
      if (!decision.allowed) {
        throw new HttpProblemError(429, 'rate-limited', 'Too many requests; slow down', {
          ...headersOf(decision),
          'retry-after': seconds(Math.max(decision.retryAfterMs, 1)),
        });
      }
      if (tightest === undefined || decision.remaining < tightest.remaining) tightest = decision;
    }
    Object.assign(context.responseHeaders, headersOf(tightest!));
    return next(request, context);
  };
}

function headersOf(decision: RateLimitDecision): Record<string, string> {
  return {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': seconds(decision.resetAfterMs),
  };
}
