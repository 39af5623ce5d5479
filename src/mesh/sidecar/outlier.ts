import type { UpstreamPolicy } from '../policy.js';
import type { Endpoint } from './endpoint.js';

const MAX_EJECTION_MS = 300_000;

/**
 * Envoy-style outlier detection: an endpoint that fails `consecutiveErrors` calls in a row
 * (5xx or no answer) leaves the pool for `ejectionTime` times the ejections it has had,
 * then comes back by itself. At most `maxEjectionPercent` of the endpoints are out at once,
 * and never the last one.
 */
export function reportOutcome(
  endpoint: Endpoint,
  ok: boolean,
  all: readonly Endpoint[],
  policy: UpstreamPolicy['outlier'],
  now: number,
): boolean {
  if (ok) {
    endpoint.consecutiveErrors = 0;
    // A full ejection period of health forgives past ejections.
    if (endpoint.ejections > 0 && now > endpoint.ejectedUntil + policy.ejectionMs) {
      endpoint.ejections = 0;
    }
    return false;
  }
  endpoint.consecutiveErrors++;
  if (endpoint.consecutiveErrors < policy.consecutiveErrors || now < endpoint.ejectedUntil) {
    return false;
  }
  let ejected = 0;
  for (const e of all) if (now < e.ejectedUntil) ejected++;
  const allowed = Math.max(1, Math.floor(all.length * policy.maxEjectionRatio));
  if (all.length < 2 || ejected >= allowed) return false;
  endpoint.ejections++;
  endpoint.consecutiveErrors = 0;
  endpoint.ejectedUntil = now + Math.min(MAX_EJECTION_MS, policy.ejectionMs * endpoint.ejections);
  return true;
}
