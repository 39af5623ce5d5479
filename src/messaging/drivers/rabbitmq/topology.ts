import type { Source, Target } from '../../driver.js';
import { delayQueueExpiry } from './delay.js';
import type { Link } from './link.js';
import type { Names } from './names.js';

const quorum = { 'x-queue-type': 'quorum' } as const;
/** Re-declare a delay queue this often while used, which also pushes its expiry out. */
const delayRefreshMs = 60_000;

/**
 * Declares queues and exchanges once each, remembers them, and declares them all again
 * after a reconnect (the broker may have been reset or restarted in between).
 */
export class Topology {
  readonly #link: Link;
  readonly #names: Names;
  readonly #declared = new Map<string, () => Promise<void>>();
  readonly #pending = new Map<string, Promise<void>>();
  readonly #delayDeclaredAt = new Map<string, number>();
  /** Delay buckets used per source queue, for `stats().delayed`. */
  readonly #buckets = new Map<string, Set<number>>();
  /** Queue names by the queue's own (long-lived) source object. */
  readonly #queueNames = new WeakMap<Source, string>();

  constructor(link: Link, names: Names) {
    this.#link = link;
    this.#names = names;
  }

  /** The source's queue name, once declared (and not forgotten since): no promise needed. */
  declared(source: Source): string | undefined {
    let name = this.#queueNames.get(source);
    if (name === undefined) {
      name = this.#names.queue(source);
      this.#queueNames.set(source, name);
    }
    return this.#declared.has(name) ? name : undefined;
  }

  /** The source's queue (and dead-letter queue; and binding, for a group). */
  async queue(source: Source): Promise<string> {
    const name = this.#names.queue(source);
    const dlq = this.#names.deadLetters(source);
    await this.#once(name, async () => {
      const ch = await this.#link.shared('ops');
      await ch.assertQueue(dlq, { durable: true, arguments: quorum });
      await ch.assertQueue(name, {
        durable: true,
        arguments: {
          ...quorum,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': dlq,
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      });
      if (source.kind === 'subscription') {
        const exchange = await this.topic(source.topic);
        await ch.bindQueue(name, exchange, '');
      }
    });
    return name;
  }

  async topic(topic: string): Promise<string> {
    const name = this.#names.exchange(topic);
    await this.#once(name, async () => {
      const ch = await this.#link.shared('ops');
      await ch.assertExchange(name, 'fanout', { durable: true });
    });
    return name;
  }

  /** A queue holding messages for `target` for `bucket` ms, then dead-lettering them back. */
  async delayQueue(target: Target | Source, bucket: number): Promise<string> {
    const name = this.#names.delay(target, bucket);
    const destination =
      target.kind === 'topic'
        ? { 'x-dead-letter-exchange': await this.topic(target.topic) }
        : {
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': await this.queue(target),
          };
    const declaredAt = this.#delayDeclaredAt.get(name);
    if (declaredAt === undefined || Date.now() - declaredAt >= delayRefreshMs) {
      const ch = await this.#link.shared('ops');
      await ch.assertQueue(name, {
        durable: true,
        arguments: {
          ...quorum,
          ...destination,
          'x-message-ttl': bucket,
          'x-expires': delayQueueExpiry(bucket),
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      });
      this.#delayDeclaredAt.set(name, Date.now());
    }
    if (target.kind !== 'topic') {
      const queue = this.#names.queue(target);
      let buckets = this.#buckets.get(queue);
      if (buckets === undefined) {
        buckets = new Set();
        this.#buckets.set(queue, buckets);
      }
      buckets.add(bucket);
    }
    return name;
  }

  /** Delay buckets this driver has used for a source's queue. */
  bucketsOf(source: Source): number[] {
    return [...(this.#buckets.get(this.#names.queue(source)) ?? [])];
  }

  /** A queue turned out to be missing: declare it again on next use. */
  forget(queue: string): void {
    this.#declared.delete(queue);
    this.#delayDeclaredAt.delete(queue);
  }

  /** Runs every remembered declaration again, in the order first made. */
  async redeclare(): Promise<void> {
    this.#delayDeclaredAt.clear();
    for (const declare of this.#declared.values()) await declare();
  }

  #once(name: string, declare: () => Promise<void>): Promise<void> {
    if (this.#declared.has(name)) return Promise.resolve();
    let pending = this.#pending.get(name);
    if (pending === undefined) {
      pending = declare().then(
        () => {
          this.#declared.set(name, declare);
          this.#pending.delete(name);
        },
        (error: unknown) => {
          this.#pending.delete(name);
          throw error;
        },
      );
      this.#pending.set(name, pending);
    }
    return pending;
  }
}
