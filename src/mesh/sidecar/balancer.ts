import type { Endpoint } from './endpoint.js';

/**
 * Power of two choices over peak-EWMA load (Linkerd's balancer): two distinct random
 * endpoints, the cheaper wins. With one slow endpoint among fast ones, the slow one wins
 * only against another slow one, so its share falls towards zero while a fast endpoint
 * stays.
 */
export function pickP2C(
  candidates: readonly Endpoint[],
  now: number,
  random: () => number = Math.random,
): Endpoint | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  if (n === 1) return candidates[0];
  const i = Math.floor(random() * n);
  let j = Math.floor(random() * (n - 1));
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  return a.cost(now) <= b.cost(now) ? a : b;
}

/**
 * The version a call goes to by the split's weights, among versions that have an
 * available endpoint; undefined when there is no split or none of its versions can serve.
 */
export function pickVersion(
  split: readonly { version: string; weight: number }[],
  hasEndpoints: (version: string) => boolean,
  random: () => number = Math.random,
): string | undefined {
  let total = 0;
  for (const s of split) if (s.weight > 0 && hasEndpoints(s.version)) total += s.weight;
  if (total === 0) return undefined;
  let point = random() * total;
  for (const s of split) {
    if (s.weight <= 0 || !hasEndpoints(s.version)) continue;
    point -= s.weight;
    if (point < 0) return s.version;
  }
  return undefined;
}
