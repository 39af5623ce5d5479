/** The part of a service that decides start order: what it calls. */
export interface Dependent {
  upstreams?: readonly string[];
}

/** A call from `from` to its `index`-th upstream that closes a cycle back to `from`'s caller. */
export interface Cycle {
  from: string;
  index: number;
  /** The services on the cycle, the first repeated at the end: `a → b → a`. */
  path: string[];
}

/**
 * Depth-first over `upstreams`, in declaration order, so the result is stable: every
 * service comes after the services it calls. Unknown upstreams are skipped; each edge
 * that closes a cycle is reported once in `cycles`.
 */
export function walk(services: Readonly<Record<string, Dependent>>): {
  order: string[];
  cycles: Cycle[];
} {
  const order: string[] = [];
  const cycles: Cycle[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];

  const visit = (name: string): void => {
    state.set(name, 'open');
    stack.push(name);
    (services[name]?.upstreams ?? []).forEach((upstream, index) => {
      if (!Object.hasOwn(services, upstream)) return;
      const seen = state.get(upstream);
      if (seen === 'open') {
        const path = [...stack.slice(stack.indexOf(upstream)), upstream];
        cycles.push({ from: name, index, path });
      } else if (seen === undefined) {
        visit(upstream);
      }
    });
    stack.pop();
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(services)) if (!state.has(name)) visit(name);
  return { order, cycles };
}

/** Dependencies first; the order `sluice up` starts services in (and stops them in reverse). */
export function startOrder(services: Readonly<Record<string, Dependent>>): string[] {
  return walk(services).order;
}

/** The environment variable through which callers reach `service`: `payment-eu` → `PAYMENT_EU_URL`. */
export function envName(service: string): string {
  return `${service.replaceAll('-', '_').toUpperCase()}_URL`;
}

/**
 * `startOrder` cut into levels: a service's level is one past the highest of its upstreams,
 * so the services of one level depend on none of each other and may start together.
 */
export function startLevels(services: Readonly<Record<string, Dependent>>): string[][] {
  const level = new Map<string, number>();
  const levels: string[][] = [];
  for (const name of startOrder(services)) {
    let mine = 0;
    for (const upstream of services[name]?.upstreams ?? []) {
      const theirs = level.get(upstream);
      if (theirs !== undefined) mine = Math.max(mine, theirs + 1);
    }
    level.set(name, mine);
    const peers = levels[mine];
    if (peers === undefined) levels[mine] = [name];
    else peers.push(name);
  }
  return levels;
}
