import { Readable } from 'node:stream';
import {
  AbortedError,
  InvalidArgumentError,
  isAbortedError,
  isBulkheadFullError,
  isCircuitOpenError,
  isLoadShedError,
  SluiceError,
} from '../../core/errors.js';
import { parseDuration, parsePercent } from '../../core/units.js';
import {
  gradientLimit,
  type LoadShedder,
  loadShedder,
  recentEventLoopDelayMs,
} from '../../flow/index.js';
import {
  bulkhead,
  circuitBreaker,
  constantBackoff,
  exponentialBackoff,
  type Policy,
  retry,
  retryBudget,
  timeout,
  wrap,
} from '../../resilience/index.js';
import type { CompileEnv, RoutePolicies } from '../compile.js';
import type { ConcurrencyConfig, ResilienceConfig, RouteConfig } from '../config.js';
import { aborted } from '../context.js';
import { isHttpProblemError } from '../errors.js';
import type { Filter, GatewayContext, GatewayResponse } from '../types.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const RETRYABLE_STATUS = new Set([502, 503, 504]);
const MAX_ERROR_BODY = 64 * 1024;

/** An upstream 5xx seen as a failure by the breaker and retry; its body is buffered. */
class UpstreamStatusError extends SluiceError {
  constructor(readonly response: GatewayResponse) {
    super('SLUICE_GATEWAY_UPSTREAM_STATUS', `upstream answered ${response.status}`);
  }
}

async function bufferBody(response: GatewayResponse): Promise<GatewayResponse> {
  const body = response.body;
  if (!(body instanceof Readable)) return response;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_ERROR_BODY) {
      body.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  const buffered = Buffer.concat(chunks);
  return {
    ...response,
    headers: { ...response.headers, 'content-length': buffered.length },
    body: buffered,
  };
}

/**
 * The gateway's own refusals, a request it could not send and a client gone say nothing
 * about the upstream's health.
 */
const countsAgainstUpstream = (error: unknown): boolean =>
  !isHttpProblemError(error) &&
  !isBulkheadFullError(error) &&
  !isCircuitOpenError(error) &&
  !isLoadShedError(error) &&
  !isAbortedError(error);

/** The adaptive limit in front of one upstream (or one route), learning from its calls only. */
function adaptiveLimit(config: ConcurrencyConfig, name: string): LoadShedder {
  // Envoy's floor is 3 and Netflix Gradient2's 20. The minimum-RTT probe holds the limit at
  // the floor, and a default must not refuse a healthy upstream's usual few dozen callers;
  // Envoy can afford 3 because a C++ proxy's own delay is microseconds, so its latency
  // samples (and the limit) rarely sit at the floor by mistake, where ours did.
  const min = config.min ?? Math.min(16, config.initial ?? 16, config.max ?? 16);
  const max = config.max ?? Math.max(1_000, config.initial ?? 0, min);
  const initial = config.initial ?? Math.min(max, Math.max(100, min));
  if (!(min <= initial && initial <= max)) {
    throw new InvalidArgumentError(
      `"${name}": concurrency needs min <= initial <= max, got ${min}, ${initial}, ${max}`,
    );
  }
  return loadShedder({
    name,
    concurrencyLimit: gradientLimit({
      name,
      initial,
      min,
      max,
      // The gateway's own event-loop lag is in every latency it measures, but not in the
      // upstream: it is added to the tolerance (rather than subtracted from the samples,
      // which a p99 over-corrects and a mean under-corrects window by window).
      ownDelayMs: recentEventLoopDelayMs,
      ...(config.buffer === undefined ? {} : { buffer: parsePercent(config.buffer) }),
      ...(config.probeInterval === undefined
        ? {}
        : { probeIntervalMs: parseDuration(config.probeInterval) }),
    }),
    retryAfterMs: parseDuration(config.retryAfter ?? '1s'),
    // A request over the limit waits for a slot rather than take a 503 at once: the limit
    // dips below the callers a healthy upstream serves whenever the probe pins it to `min`,
    // or the gateway's own CPU wait reads as latency. The upstream still never sees more
    // than the limit; the queue is refused when it is full or stops moving.
    maxQueue: config.queue ?? 100,
    failFastMs: parseDuration(config.failFast ?? '1s'),
  });
}

function sharedPolicies(config: ResilienceConfig, name: string): RoutePolicies {
  const out: RoutePolicies = {};
  const b = config.breaker;
  if (b) {
    out.breaker = circuitBreaker({
      name,
      failureRateThreshold: parsePercent(b.failureRate ?? '50%') * 100,
      ...(b.slowCallRate === undefined
        ? {}
        : { slowCallRateThreshold: parsePercent(b.slowCallRate) * 100 }),
      ...(b.slowCall === undefined ? {} : { slowCallDurationMs: parseDuration(b.slowCall) }),
      minimumCalls: b.minimumCalls ?? 20,
      window: { type: 'time', durationMs: parseDuration(b.window ?? '10s') },
      openDurationMs: parseDuration(b.openFor ?? '30s'),
      isFailure: countsAgainstUpstream,
    });
  }
  const bh = config.bulkhead;
  if (bh !== undefined) {
    out.bulkhead = bulkhead(
      typeof bh === 'number'
        ? { name, maxConcurrent: bh }
        : { name, maxConcurrent: bh.max, maxQueue: bh.queue ?? 0 },
    );
  }
  return out;
}

function withSignal(context: GatewayContext, signal: AbortSignal): GatewayContext {
  return Object.create(context, { signal: { value: signal } }) as GatewayContext;
}

/**
 * Timeout, retries, breaker, bulkhead and the adaptive concurrency limit around the upstream
 * call. Breaker, bulkhead and limit belong to the upstream (shared by its routes) when set on
 * the upstream, to the route when set on the route; the limit is on for every upstream unless
 * `concurrency: false`. Retries only happen for idempotent methods or requests carrying an
 * Idempotency-Key, and never for a body that was streamed (it cannot be replayed).
 *
 * Each attempt passes breaker, bulkhead, limit and timeout in that order: an open breaker
 * or a full bulkhead refuses without taking a slot of the limit, and the timeout inside the
 * limit makes a timed-out call a congestion signal for it.
 */
export function resilienceFilter(
  route: RouteConfig,
  env: CompileEnv,
  routeName: string,
): Filter | null {
  const upstreamConfig = env.config.upstreams?.[route.upstream]?.resilience ?? {};
  const config: ResilienceConfig = { ...upstreamConfig, ...route.resilience };
  if (
    !config.timeout &&
    !config.retry &&
    !config.breaker &&
    config.bulkhead === undefined &&
    config.concurrency === false
  )
    return null;
  const routeLevel = route.resilience ?? {};
  const fromUpstream = env.memo(`policies:${route.upstream}`, () =>
    sharedPolicies(upstreamConfig, route.upstream),
  );
  const fromRoute = sharedPolicies(routeLevel, routeName);
  const breaker = fromRoute.breaker ?? fromUpstream.breaker;
  const limit = fromRoute.bulkhead ?? fromUpstream.bulkhead;
  const concurrency =
    routeLevel.concurrency === false
      ? undefined
      : routeLevel.concurrency !== undefined
        ? adaptiveLimit(routeLevel.concurrency, routeName)
        : env.memo(`concurrency:${route.upstream}`, () =>
            upstreamConfig.concurrency === false
              ? undefined
              : adaptiveLimit(upstreamConfig.concurrency ?? {}, route.upstream),
          );
  env.policies.set(routeName, {
    ...(breaker ? { breaker } : {}),
    ...(limit ? { bulkhead: limit } : {}),
    ...(concurrency ? { concurrency } : {}),
  });

  const inner: Policy[] = [];
  if (breaker) inner.push(breaker);
  if (limit) inner.push(limit);
  if (concurrency) inner.push(concurrency);
  if (config.timeout !== undefined)
    inner.push(timeout(parseDuration(config.timeout), { name: routeName }));
  const once: Policy | null =
    inner.length === 0 ? null : inner.length === 1 ? inner[0]! : wrap(...inner);
  let retrying: Policy | null = null;
  const r = config.retry;
  if (r && (r.attempts ?? 2) > 1) {
    const delay = parseDuration(r.delay ?? '50ms');
    const policy = retry({
      name: routeName,
      maxAttempts: r.attempts ?? 2,
      backoff:
        r.backoff === 'constant'
          ? constantBackoff(delay)
          : exponentialBackoff({
              initialDelay: delay,
              maxDelay: parseDuration(r.maxDelay ?? '1s'),
            }),
      budget: retryBudget({
        ratio: r.budget === undefined ? 0.2 : parsePercent(r.budget),
        minPerSecond: 10,
      }),
      retryable: (error) => countsAgainstUpstream(error),
    });
    retrying = once ? wrap(policy, once) : policy;
  }
  const failOn5xx = breaker !== undefined || retrying !== null;
  // The default: the adaptive limit alone. Nothing can abort the call but the client, so
  // it runs with the request's own context, without the signal, execution context and
  // promises per request that `execute` makes.
  if (retrying === null && once !== null && once === concurrency) {
    // The client is checked once the request is admitted, which may follow a wait in the
    // queue; a request whose client left gives its slot back at once, as an ignored call.
    return (next) => (request, context) =>
      concurrency.call(() =>
        aborted(context)
          ? Promise.reject(new AbortedError(undefined, { cause: context.signal.reason }))
          : next(request, context),
      );
  }

  return (next) => async (request, context) => {
    const replayable = !(request.body instanceof Readable);
    const policy =
      retrying &&
      replayable &&
      (IDEMPOTENT.has(request.method) || request.headers['idempotency-key'] !== undefined)
        ? retrying
        : once;
    if (policy === null) return next(request, context);
    try {
      return await policy.execute(
        async ({ signal }) => {
          const response = await next(request, withSignal(context, signal));
          if (failOn5xx && RETRYABLE_STATUS.has(response.status))
            throw new UpstreamStatusError(await bufferBody(response));
          return response;
        },
        { signal: context.signal },
      );
    } catch (error) {
      if (error instanceof UpstreamStatusError) return error.response;
      if (error instanceof SluiceError && error.cause instanceof UpstreamStatusError)
        return error.cause.response;
      throw error;
    }
  };
}
