import { InvalidArgumentError, SluiceError } from '../core/errors.js';
import { type Balancer, type BalancerKind, balancer } from './balancer.js';
import { type OutlierOptions, type PoolOptions, Target } from './target.js';

export interface UpstreamOptions {
  name: string;
  /** Origins such as `http://127.0.0.1:3001`. */
  targets: readonly string[];
  balance?: BalancerKind;
  pool?: Partial<PoolOptions>;
  /** Passive outlier ejection; on by default, `false` turns it off. */
  outlier?: Partial<OutlierOptions> | false;
}

const defaultPool: PoolOptions = {
  connections: 128,
  connectTimeoutMs: 5_000,
  keepAliveTimeoutMs: 4_000,
};
const defaultOutlier: OutlierOptions = {
  consecutiveFailures: 5,
  ejectionMs: 10_000,
  maxEjectedPercent: 0.5,
};

/** A named set of targets behind one balancer, with passive outlier ejection. */
export class Upstream {
  readonly name: string;
  readonly targets: readonly Target[];
  readonly #balance: Balancer<Target>;
  readonly #outlier: OutlierOptions | null;

  constructor(options: UpstreamOptions) {
    if (options.targets.length === 0) {
      throw new InvalidArgumentError(`upstream "${options.name}" needs at least one target`);
    }
    this.name = options.name;
    const pool = { ...defaultPool, ...options.pool };
    this.targets = options.targets.map((url) => new Target(checkOrigin(options.name, url), pool));
    this.#balance = balancer(options.balance ?? 'round-robin');
    this.#outlier = options.outlier === false ? null : { ...defaultOutlier, ...options.outlier };
  }

  /** The target the next request goes to; throws when none is healthy. */
  pick(): Target {
    const targets = this.targets;
    if (targets.length === 1 && targets[0]!.healthy && targets[0]!.ejectedUntil === 0)
      return targets[0]!;
    const now = Date.now();
    const available = targets.filter((t) => t.available(now));
    if (available.length === 0) {
      throw new SluiceError(
        'SLUICE_GATEWAY_NO_TARGET',
        `upstream "${this.name}" has no healthy target`,
        {
          retryAfter: 1000,
        },
      );
    }
    return this.#balance(available);
  }

  /** Feeds passive outlier detection with the outcome of one request. */
  report(target: Target, ok: boolean): void {
    if (ok) {
      target.consecutiveFailures = 0;
      if (target.ejectedUntil !== 0 && target.ejectedUntil <= Date.now()) {
        target.ejectedUntil = 0;
        target.ejections = 0;
      }
      return;
    }
    const outlier = this.#outlier;
    if (outlier === null) return;
    target.consecutiveFailures++;
    if (target.consecutiveFailures < outlier.consecutiveFailures) return;
    const now = Date.now();
    if (target.ejectedUntil > now) return;
    const ejected = this.targets.filter((t) => t.ejectedUntil > now).length;
    if ((ejected + 1) / this.targets.length > outlier.maxEjectedPercent && this.targets.length > 1)
      return;
    if (this.targets.length === 1) return;
    target.ejections++;
    target.ejectedUntil = now + outlier.ejectionMs * 2 ** Math.min(target.ejections - 1, 5);
    target.consecutiveFailures = 0;
  }

  async close(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.pool.close()));
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, targets: this.targets.map((t) => t.toJSON()) };
  }
}

function checkOrigin(upstream: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`upstream "${upstream}": target "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidArgumentError(`upstream "${upstream}": target "${url}" must be http or https`);
  }
  return parsed.origin;
}
