import { Pool } from 'undici';
import { CircuitBreaker } from '../../resilience/index.js';
import type { MeshEndpoint } from '../contract.js';
import type { UpstreamPolicy } from '../policy.js';
import { PeakEwma } from './peak-ewma.js';
import { type IdentityHolder, meshConnector } from './tls.js';

/** One instance of an upstream as the sidecar balances over it. */
export class Endpoint {
  readonly pool: Pool;
  readonly ewma: PeakEwma;
  breaker: CircuitBreaker;
  pending = 0;
  /** Outlier detection's state: errors in a row, ejections so far, ejected until (ms). */
  consecutiveErrors = 0;
  ejections = 0;
  ejectedUntil = 0;

  constructor(
    public info: MeshEndpoint,
    holder: IdentityHolder,
    expectedId: string,
    policy: UpstreamPolicy,
    now: number,
  ) {
    this.ewma = new PeakEwma(30, 10_000, now);
    this.pool = new Pool(`https://${info.address}`, {
      connect: meshConnector(holder, expectedId),
      connections: 128,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 30_000,
    });
    // A pool is an emitter; a connection error is already the request's error.
    this.pool.on('connectionError', () => {});
    this.breaker = this.#newBreaker(policy);
  }

  /** A new breaker for a changed policy; the old one's history goes with it. */
  rebuildBreaker(policy: UpstreamPolicy): this {
    this.breaker = this.#newBreaker(policy);
    return this;
  }

  #newBreaker(policy: UpstreamPolicy): CircuitBreaker {
    const info = this.info;
    const b = policy.breaker;
    return new CircuitBreaker({
      name: `${info.service}/${info.instance}`,
      consecutiveFailures: b.consecutiveFailures,
      ...(b.windowMs === undefined
        ? {}
        : {
            window: { type: 'time', durationMs: b.windowMs },
            failureRateThreshold: (b.failureRate ?? 0.5) * 100,
            minimumCalls: b.minimumCalls ?? 20,
          }),
      ...(b.slowCallMs === undefined
        ? {}
        : {
            window: { type: 'time', durationMs: b.windowMs ?? 10_000 },
            slowCallDurationMs: b.slowCallMs,
            slowCallRateThreshold: (b.slowCallRate ?? 1) * 100,
          }),
      openDurationMs: b.openForMs,
      openDurationGrowth: { factor: 2, max: b.maxOpenForMs },
      // Linkerd sends one probe after the penalty.
      halfOpenMaxProbes: 1,
    });
  }

  /** Linkerd's load: the latency estimate scaled by the requests in flight. */
  cost(now: number): number {
    return this.ewma.value(now) * (this.pending + 1);
  }

  /** In the pool: not ejected, and its breaker admits calls (half-open admits a probe). */
  available(now: number): boolean {
    return now >= this.ejectedUntil && this.breaker.state !== 'open';
  }

  close(): Promise<void> {
    return this.pool.close().catch(() => {});
  }
}
