import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AbortedError, SluiceError, TimeoutError } from '../../core/errors.js';
import { sleep } from '../../core/signals.js';
import { HttpProblemError } from '../../gateway/errors.js';
import { endToEnd } from '../../gateway/forwarding.js';
import type { GatewayContext, GatewayRequest, GatewayResponse } from '../../gateway/types.js';
import { callUpstream, type UpstreamAnswer } from '../../gateway/upstream-call.js';
import {
  type Backoff,
  Bulkhead,
  constantBackoff,
  decorrelatedJitterBackoff,
  exponentialBackoff,
  RetryBudget,
} from '../../resilience/index.js';
import type { MeshEndpoint } from '../contract.js';
import type { UpstreamPolicy } from '../policy.js';
import { serviceSpiffeId } from '../spiffe.js';
import { discard, finalError, replayableBody, retrySafe } from './attempt.js';
import { pickP2C, pickVersion } from './balancer.js';
import { Endpoint } from './endpoint.js';
import type { MeshMetrics } from './metrics.js';
import { reportOutcome } from './outlier.js';
import type { IdentityHolder } from './tls.js';

export interface UpstreamDeps {
  holder: IdentityHolder;
  trustDomain: string;
  metrics: MeshMetrics;
  /** Source of randomness for balancing and splits; replace it in tests. */
  random?: () => number;
  /** Monotonic milliseconds for latency estimates and ejections; replace it in tests. */
  now?: () => number;
}

/** An upstream 5xx, thrown inside the breaker so that it counts as a failure. */
class FailedAnswer extends SluiceError {
  constructor(readonly answer: UpstreamAnswer) {
    super('SLUICE_MESH_UPSTREAM_STATUS', `upstream answered ${answer.statusCode}`);
  }
}

const skipped = new Set(['host', 'x-sluice-peer-identity']);

function backoffOf(retry: UpstreamPolicy['retry']): Backoff {
  if (retry.backoff === 'constant') return constantBackoff(retry.delayMs);
  const options = { initialDelay: retry.delayMs, maxDelay: retry.maxDelayMs };
  return retry.backoff === 'decorrelated'
    ? decorrelatedJitterBackoff(options)
    : exponentialBackoff(options);
}

/**
 * One upstream of the sidecar: its endpoints as the control plane streams them, its policy
 * (swapped whole on reload), and the call path: split, P2C over peak-EWMA, per-endpoint
 * breaker, outlier ejection, retries within a budget, and one deadline for it all.
 */
export class MeshUpstream {
  readonly expectedId: string;
  #policy: UpstreamPolicy;
  #budget: RetryBudget;
  #bulkhead: Bulkhead | undefined;
  #backoff: Backoff;
  #endpoints = new Map<string, Endpoint>();
  #list: Endpoint[] = [];
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(
    readonly name: string,
    policy: UpstreamPolicy,
    private readonly deps: UpstreamDeps,
  ) {
    this.expectedId = serviceSpiffeId(deps.trustDomain, name);
    this.#random = deps.random ?? Math.random;
    this.#now = deps.now ?? (() => performance.now());
    this.#policy = policy;
    this.#budget = this.#newBudget(policy);
    this.#bulkhead = this.#newBulkhead(policy);
    this.#backoff = backoffOf(policy.retry);
  }

  get policy(): UpstreamPolicy {
    return this.#policy;
  }

  get endpoints(): readonly Endpoint[] {
    return this.#list;
  }

  /** Swaps in a new policy; endpoints keep their latency estimates, breakers start afresh. */
  setPolicy(policy: UpstreamPolicy): void {
    if (policy === this.#policy) return;
    const old = this.#policy;
    this.#policy = policy;
    if (JSON.stringify(old.retry) !== JSON.stringify(policy.retry)) {
      this.#budget = this.#newBudget(policy);
      this.#backoff = backoffOf(policy.retry);
    }
    if (JSON.stringify(old.bulkhead) !== JSON.stringify(policy.bulkhead)) {
      this.#bulkhead = this.#newBulkhead(policy);
    }
    if (JSON.stringify(old.breaker) !== JSON.stringify(policy.breaker)) {
      for (const endpoint of this.#list) this.#watchBreaker(endpoint.rebuildBreaker(policy));
    }
  }

  /** Replaces the endpoint set with what the registry says now; only healthy ones serve. */
  update(endpoints: readonly MeshEndpoint[]): void {
    const next = new Map<string, Endpoint>();
    for (const info of endpoints) {
      if (!info.healthy || info.service !== this.name) continue;
      const key = `${info.instance}@${info.address}`;
      let endpoint = this.#endpoints.get(key);
      if (endpoint === undefined) {
        endpoint = new Endpoint(info, this.deps.holder, this.expectedId, this.#policy, this.#now());
        this.#watchBreaker(endpoint);
      } else endpoint.info = info;
      next.set(key, endpoint);
    }
    for (const [key, endpoint] of this.#endpoints) {
      if (next.has(key)) continue;
      this.deps.metrics.forgetEndpoint(this.name, endpoint.info.instance);
      void endpoint.close();
    }
    this.#endpoints = next;
    this.#list = [...next.values()];
  }

  async close(): Promise<void> {
    const all = this.#list;
    this.#endpoints = new Map();
    this.#list = [];
    await Promise.all(all.map((e) => e.close()));
  }

  /** The terminal handler of an outbound listener: the request, sent to this upstream. */
  call = async (request: GatewayRequest, context: GatewayContext): Promise<GatewayResponse> => {
    const bulkhead = this.#bulkhead;
    if (bulkhead === undefined) return this.#call(request, context);
    return bulkhead.execute(() => this.#call(request, context), { signal: context.signal });
  };

  async #call(request: GatewayRequest, context: GatewayContext): Promise<GatewayResponse> {
    const policy = this.#policy;
    const budget = this.#budget;
    const method = request.method;
    let body: Uint8Array | Readable | null | undefined = request.body;
    let replayable = body === null || body instanceof Uint8Array;
    if (!replayable && policy.retry.attempts > 1) {
      const buffered = await replayableBody(
        request.body,
        request.headers['content-length'] as string | undefined,
      );
      if (buffered !== undefined) {
        body = buffered;
        replayable = true;
      }
    }
    const headers = endToEnd(request.headers, skipped);
    headers.host = this.name;
    if (body === null) delete headers['content-length'];
    else if (body instanceof Uint8Array) headers['content-length'] = String(body.byteLength);
    const options: Dispatcher.DispatchOptions = {
      method: method as Dispatcher.HttpMethod,
      path: request.path + request.query,
      headers,
      body: body ?? null,
    };

    const controller = new AbortController();
    const signal = controller.signal;
    const timer = setTimeout(
      () => controller.abort(new TimeoutError(policy.timeoutMs)),
      policy.timeoutMs,
    );
    const clientSignal = context.signal;
    const onGone = (): void => controller.abort(new AbortedError('the caller went away'));
    clientSignal.addEventListener('abort', onGone, { once: true });

    budget.deposit();
    const tried = new Set<Endpoint>();
    let attempt = 0;
    let delay = 0;
    try {
      for (;;) {
        const endpoint = this.#pick(tried);
        if (endpoint === undefined) {
          throw new HttpProblemError(
            503,
            'no-healthy-endpoint',
            `No healthy endpoint of "${this.name}"`,
            { 'retry-after': '1' },
          );
        }
        tried.add(endpoint);
        attempt++;
        let outcome: UpstreamAnswer | unknown;
        try {
          const answer = await this.#send(endpoint, options, signal);
          if (answer.statusCode < 500) return toResponse(answer);
          outcome = answer;
        } catch (error) {
          if (signal.aborted) throw signal.reason ?? error;
          outcome = error instanceof FailedAnswer ? error.answer : error;
        }
        const failed = isAnswer(outcome) ? { status: outcome.statusCode } : outcome;
        const more = attempt < policy.retry.attempts && replayable && retrySafe(method, failed);
        if (!more) {
          if (isAnswer(outcome)) return toResponse(outcome);
          throw finalError(outcome, this.name);
        }
        if (!budget.tryWithdraw()) {
          this.deps.metrics.budgetExhausted(this.name);
          if (isAnswer(outcome)) return toResponse(outcome);
          throw finalError(outcome, this.name);
        }
        if (isAnswer(outcome)) discard(outcome.body);
        this.deps.metrics.retry(this.name);
        delay = this.#backoff(attempt, delay);
        if (delay > 0) await sleep(delay, { signal });
      }
    } finally {
      clearTimeout(timer);
      clientSignal.removeEventListener('abort', onGone);
    }
  }

  /** One attempt on one endpoint, through its breaker; a 5xx comes back as FailedAnswer. */
  async #send(
    endpoint: Endpoint,
    options: Dispatcher.DispatchOptions,
    signal: AbortSignal,
  ): Promise<UpstreamAnswer> {
    const start = this.#now();
    endpoint.pending++;
    let answer: UpstreamAnswer;
    try {
      answer = await endpoint.breaker.execute(async () => {
        const got = await callUpstream(endpoint.pool, options, signal);
        if (got.statusCode >= 500) throw new FailedAnswer(got);
        return got;
      });
    } catch (error) {
      endpoint.pending--;
      const now = this.#now();
      if (error instanceof FailedAnswer) {
        endpoint.ewma.observe(now - start, now);
        this.#outcome(endpoint, false, now);
      } else if (!signal.aborted && !isOpen(error)) this.#outcome(endpoint, false, now);
      throw error;
    }
    const now = this.#now();
    endpoint.ewma.observe(now - start, now);
    this.#outcome(endpoint, true, now);
    if (answer.body instanceof Readable) answer.body.once('close', () => endpoint.pending--);
    else endpoint.pending--;
    return answer;
  }

  #outcome(endpoint: Endpoint, ok: boolean, now: number): void {
    if (reportOutcome(endpoint, ok, this.#list, this.#policy.outlier, now)) {
      this.deps.metrics.ejected(this.name);
    }
  }

  #pick(tried: ReadonlySet<Endpoint>): Endpoint | undefined {
    const now = this.#now();
    let candidates = this.#list.filter((e) => e.available(now));
    const split = this.#policy.split;
    if (split.length > 0) {
      const version = pickVersion(
        split,
        (v) => candidates.some((e) => e.info.labels.version === v),
        this.#random,
      );
      if (version !== undefined)
        candidates = candidates.filter((e) => e.info.labels.version === version);
    }
    const fresh = candidates.filter((e) => !tried.has(e));
    return pickP2C(fresh.length > 0 ? fresh : candidates, now, this.#random);
  }

  #watchBreaker(endpoint: Endpoint): void {
    const { metrics } = this.deps;
    metrics.breaker(this.name, endpoint.info.instance, 'closed');
    endpoint.breaker.onStateChange((event) =>
      metrics.breaker(this.name, endpoint.info.instance, event.to),
    );
  }

  #newBudget(policy: UpstreamPolicy): RetryBudget {
    const r = policy.retry;
    return new RetryBudget({
      ratio: r.ratio,
      minPerSecond: r.minPerSecond,
      windowMs: r.windowMs,
      clock: { now: this.#now },
    });
  }

  #newBulkhead(policy: UpstreamPolicy): Bulkhead | undefined {
    const b = policy.bulkhead;
    if (b === undefined) return undefined;
    return new Bulkhead({
      maxConcurrent: b.max,
      maxQueue: b.queue,
      ...(b.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: b.queueTimeoutMs }),
    });
  }
}

function isAnswer(outcome: unknown): outcome is UpstreamAnswer {
  return (
    typeof outcome === 'object' &&
    outcome !== null &&
    'statusCode' in outcome &&
    'headers' in outcome
  );
}

function isOpen(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'SLUICE_CIRCUIT_OPEN';
}

function toResponse(answer: UpstreamAnswer): GatewayResponse {
  return { status: answer.statusCode, headers: endToEnd(answer.headers), body: answer.body };
}
