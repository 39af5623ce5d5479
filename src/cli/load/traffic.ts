import { randomUUID } from 'node:crypto';
import { type Answer, parseJson, type SendOptions, type Target } from './http.js';
import type { LoadStats, Operation } from './stats.js';
import type { UserTokens } from './tokens.js';

export type OrderStatus = 'pending' | 'fulfilled' | 'payment_failed' | (string & {});

export interface PlacedOrder {
  id: string;
  /** Who placed it; its status is read with that user's token. */
  user: string;
  status: OrderStatus;
}

interface Placement {
  key: string;
  user: string;
  body: { items: { sku: string; qty: number }[] };
  orderId: string;
}

/** Placements kept for duplicate retries: a random sample once there are more. */
const keptPlacements = 1_000;

/**
 * What a crowd of shoppers does: 40% list the products, 20% look at one, 30% place an
 * order (some of them resending an earlier Idempotency-Key, as a client retrying after a
 * lost answer would), 10% check an order they placed.
 */
export class ShopperTraffic {
  readonly orders = new Map<string, PlacedOrder>();
  /** Retries of an earlier key that got an order back, and how many got the same order. */
  duplicates = 0;
  duplicatesSameOrder = 0;
  readonly #placements: Placement[] = [];
  readonly #orderIds: string[] = [];
  readonly #runId = randomUUID().slice(0, 8);
  #keys = 0;

  constructor(
    readonly target: Target,
    readonly stats: LoadStats,
    readonly tokens: UserTokens,
    readonly skus: string[],
    readonly duplicateRatio: number,
  ) {}

  /** One arrival, due to be sent at `dueAt` (`performance.now()` time). */
  async arrive(dueAt: number): Promise<void> {
    const users = this.tokens.active();
    const user = users[Math.floor(Math.random() * users.length)];
    const pick = Math.random();
    if (user === undefined || pick < 0.4) return this.#browse(dueAt);
    if (pick < 0.6) return this.#product(dueAt);
    if (pick < 0.9) {
      const retry = Math.random() < this.duplicateRatio ? randomOf(this.#placements) : undefined;
      return retry === undefined ? this.#order(dueAt, user) : this.#retry(dueAt, retry);
    }
    return this.#status(dueAt);
  }

  async #browse(dueAt: number): Promise<void> {
    await this.#send('browse', dueAt, undefined, 'GET', '/api/products');
  }

  async #product(dueAt: number): Promise<void> {
    await this.#send('product', dueAt, undefined, 'GET', `/api/products/${randomOf(this.skus)}`);
  }

  async #order(dueAt: number, user: string): Promise<void> {
    const key = `load-${this.#runId}-${++this.#keys}`;
    const body = { items: [{ sku: randomOf(this.skus)!, qty: 1 + Math.floor(Math.random() * 3) }] };
    const answer = await this.#place('order', dueAt, user, key, body);
    const order = answer?.status === 201 ? parseJson<{ id?: unknown }>(answer) : undefined;
    if (typeof order?.id !== 'string') return;
    this.orders.set(order.id, { id: order.id, user, status: 'pending' });
    this.#orderIds.push(order.id);
    const placement = { key, user, body, orderId: order.id };
    if (this.#placements.length < keptPlacements) this.#placements.push(placement);
    else this.#placements[Math.floor(Math.random() * keptPlacements)] = placement;
  }

  async #retry(dueAt: number, placement: Placement): Promise<void> {
    const { key, user, body } = placement;
    const answer = await this.#place('retry', dueAt, user, key, body);
    if (answer === undefined || answer.status >= 300) return;
    this.duplicates++;
    if (parseJson<{ id?: unknown }>(answer)?.id === placement.orderId) this.duplicatesSameOrder++;
  }

  async #status(dueAt: number): Promise<void> {
    const order = this.orders.get(randomOf(this.#orderIds) ?? '');
    if (order === undefined) return this.#browse(dueAt);
    const answer = await this.#send('status', dueAt, order.user, 'GET', `/api/orders/${order.id}`);
    const status = answer?.status === 200 ? parseJson<PlacedOrder>(answer)?.status : undefined;
    if (typeof status === 'string') order.status = status;
  }

  #place(
    operation: Operation,
    dueAt: number,
    user: string,
    key: string,
    body: Placement['body'],
  ): Promise<Answer | undefined> {
    return this.#send(operation, dueAt, user, 'POST', '/api/orders', {
      headers: { 'idempotency-key': key },
      json: body,
    });
  }

  /** Sends as `user` (or anonymously), records the outcome; undefined when nothing answered. */
  async #send(
    operation: Operation,
    dueAt: number,
    user: string | undefined,
    method: string,
    path: string,
    options: SendOptions = {},
  ): Promise<Answer | undefined> {
    const token = user === undefined ? undefined : this.tokens.token(user);
    const headers = { ...options.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    try {
      const answer = await this.target.send(method, path, { ...options, headers });
      this.stats.answered(operation, answer.status, performance.now() - dueAt);
      if (answer.status === 401 && user !== undefined) this.tokens.renew(user);
      return answer;
    } catch (error) {
      this.stats.failed(operation, (error as Error).message, performance.now() - dueAt);
      return undefined;
    }
  }
}

function randomOf<T>(items: T[]): T | undefined {
  return items[Math.floor(Math.random() * items.length)];
}
