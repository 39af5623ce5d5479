/** Something a balancer can weigh: requests it has in flight. */
export interface Weighable {
  inflight: number;
}

export type BalancerKind = 'round-robin' | 'least-request';

/** Picks one of the available targets; the list is never empty. */
export type Balancer<T extends Weighable> = (available: readonly T[]) => T;

export function roundRobin<T extends Weighable>(): Balancer<T> {
  let next = 0;
  return (available) => {
    next = (next + 1) % 1_000_000_007;
    return available[next % available.length]!;
  };
}

/** Least request by power of two choices: two random targets, the less busy one wins. */
export function leastRequest<T extends Weighable>(random: () => number = Math.random): Balancer<T> {
  return (available) => {
    const n = available.length;
    if (n === 1) return available[0]!;
    const i = Math.floor(random() * n);
    let j = Math.floor(random() * (n - 1));
    if (j >= i) j++;
    const a = available[i]!;
    const b = available[j]!;
    return b.inflight < a.inflight ? b : a;
  };
}

export function balancer<T extends Weighable>(kind: BalancerKind): Balancer<T> {
  return kind === 'least-request' ? leastRequest<T>() : roundRobin<T>();
}
