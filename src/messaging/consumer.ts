import { isSluiceError } from '../core/errors.js';
import { within } from '../core/time-limit.js';
import type { Backoff } from '../resilience/backoff.js';
import { AckBatcher } from './ack-batcher.js';
import { messagingChannels } from './diagnostics.js';
import type { Delivery, MessagingDriver, Source } from './driver.js';
import { sourceName } from './driver.js';
import { InvalidMessageError, isNonRetryableError, LeaseLostError } from './errors.js';
import { DeliveredMessage } from './message.js';
import { CounterTally, labelsOf, messagingCounters } from './metrics.js';
import { handleInSpan, type ProcessInfo } from './tracing.js';
import type { Consumer, Handler, HandlerContext, StopOptions } from './types.js';

export interface ConsumerConfig {
  readonly prefetch: number;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly backoff: Backoff;
  readonly maxAttempts: number;
  readonly deadLetter: boolean;
  readonly orderByKey: boolean;
  readonly retryable: (error: unknown) => boolean;
  readonly pollMs: number;
  readonly signal: AbortSignal | undefined;
}

interface Held {
  readonly delivery: Delivery;
  started: boolean;
  /** A release or dead-letter for it is under way: leave its lease alone. */
  settling: boolean;
  /** Released by a stop past its drain timeout; whatever the handler does later is moot. */
  abandoned: boolean;
  /** Created on first use: most handlers never look at their signal. */
  controller: AbortController | undefined;
  abortedWith: unknown;
}

/** The handler's context; its signal costs nothing until a handler reads it. */
class Context implements HandlerContext {
  readonly #entry: Held;

  constructor(entry: Held) {
    this.#entry = entry;
  }

  get signal(): AbortSignal {
    const entry = this.#entry;
    if (entry.controller === undefined) {
      entry.controller = new AbortController();
      if (entry.abortedWith !== undefined) entry.controller.abort(entry.abortedWith);
    }
    return entry.controller.signal;
  }
}

function abortHandler(entry: Held, reason: unknown): void {
  entry.abortedWith = reason;
  entry.controller?.abort(reason);
}

const defaultDrainMs = 30_000;

/**
 * The one consumer loop every driver shares: claims up to `prefetch` messages with a lease,
 * runs at most `concurrency` handlers, batches acks, renews leases while messages are held,
 * retries failures with backoff, dead-letters past `maxAttempts`, and drains on stop.
 *
 * A message leaves its prefetch slot once its ack is queued, not once it is written: engines
 * that group-commit acks would otherwise hold every slot for a commit's round trip. Acks
 * queued but unwritten still count against a second `prefetch`, so a slow engine stops the
 * claims and the consumer never holds more than twice `prefetch` messages.
 */
export class ConsumerLoop<T> implements Consumer {
  readonly closed: Promise<void>;
  readonly #driver: MessagingDriver;
  readonly #source: Source;
  readonly #name: string;
  readonly #labels: ReturnType<typeof labelsOf>;
  readonly #process: ProcessInfo;
  readonly #delivered: CounterTally;
  readonly #acked: CounterTally;
  readonly #handler: Handler<T>;
  readonly #config: ConsumerConfig;
  readonly #decode: (body: string) => T;
  readonly #held = new Map<string, Held>();
  /** Held, not yet started, in claim order. */
  readonly #buffer: Held[] = [];
  readonly #hardStop = new AbortController();
  readonly #lowWater: number;
  #active = 0;
  #stopping = false;
  #stopPromise: Promise<void> | undefined;
  #drained = false;
  #workPending = false;
  #wake: (() => void) | undefined;
  readonly #acks: AckBatcher;
  /** The loop waits for ack writes, not for handlers, before it can claim again. */
  #waitingForAcks = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #loopDone: Promise<void> = Promise.resolve();
  #idle: (() => void) | undefined;
  #resolveClosed!: () => void;

  constructor(
    driver: MessagingDriver,
    source: Source,
    handler: Handler<T>,
    config: ConsumerConfig,
    decode: (body: string) => T,
  ) {
    this.#driver = driver;
    this.#source = source;
    this.#name = sourceName(source);
    this.#labels = labelsOf(driver.name, source);
    this.#process =
      source.kind === 'queue'
        ? { system: driver.name, destination: source.queue }
        : { system: driver.name, destination: source.topic, group: source.group };
    this.#delivered = new CounterTally(messagingCounters.delivered, this.#labels);
    this.#acked = new CounterTally(messagingCounters.acked, this.#labels);
    this.#handler = handler;
    this.#config = config;
    this.#decode = decode;
    this.#lowWater = Math.floor(config.prefetch / 2);
    this.#acks = new AckBatcher(
      (receipts) => this.#driver.ack(this.#source, receipts),
      // The leases run out and the messages come back: at-least-once still holds.
      (error) => this.#report('ack', error),
      () => {
        if (this.#waitingForAcks) this.#wakeLoop();
      },
    );
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get active(): number {
    return this.#active;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  start(): void {
    this.#unsubscribe = this.#driver.onWork(this.#source, () => {
      this.#workPending = true;
      if (this.#drained) this.#wakeLoop();
    });
    const every = Math.max(10, Math.floor(this.#config.leaseMs / 3));
    this.#renewTimer = setInterval(() => void this.#renew(), every);
    this.#renewTimer.unref();
    const { signal } = this.#config;
    if (signal?.aborted) {
      void this.stop();
      return;
    }
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.#loopDone = this.#loop();
  }

  stop(options: StopOptions = {}): Promise<void> {
    this.#stopPromise ??= this.#shutdown(options.drainTimeout ?? defaultDrainMs);
    return this.#stopPromise;
  }

  async #loop(): Promise<void> {
    const { prefetch, leaseMs, orderByKey, pollMs } = this.#config;
    let failedClaims = 0;
    while (!this.#stopping) {
      const free = prefetch - this.#held.size;
      const room = Math.min(free, 2 * prefetch - this.#held.size - this.#acks.unwritten);
      this.#waitingForAcks = free > 0 && room <= 0;
      if (room <= 0 || (!this.#drained && this.#held.size > this.#lowWater)) {
        await this.#wait(pollMs);
        continue;
      }
      this.#workPending = false;
      let result: Awaited<ReturnType<MessagingDriver['claim']>>;
      try {
        result = await this.#driver.claim(this.#source, {
          max: room,
          leaseMs,
          orderByKey,
          signal: this.#hardStop.signal,
        });
      } catch (error) {
        if (this.#stopping) break;
        this.#report('claim', error);
        // Let a wake-up end the pause early, as after an empty claim. The engine may be
        // down, and the wake-up that says it is back may already have come while this
        // claim failed: try again well before a long poll, backing off while it fails.
        this.#drained = true;
        failedClaims++;
        await this.#wait(Math.min(pollMs, 50 * 2 ** Math.min(failedClaims, 7)));
        continue;
      }
      failedClaims = 0;
      if (this.#stopping) {
        await this.#releaseUnstarted(result.deliveries);
        break;
      }
      for (const delivery of result.deliveries) this.#accept(delivery);
      this.#dispatch();
      this.#drained = result.deliveries.length < room;
      if (this.#drained && !this.#workPending) {
        const due = result.nextDueAt;
        const wait = due === undefined ? pollMs : Math.max(1, Math.min(pollMs, due - Date.now()));
        await this.#wait(wait);
      }
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wakeLoop(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #wakeLoop(): void {
    this.#wake?.();
  }

  #accept(delivery: Delivery): void {
    if (delivery.attempt > this.#config.maxAttempts) {
      // Consumers died holding it often enough: treat it like a handler failure.
      const entry = this.#track(delivery);
      entry.started = true;
      this.#active++;
      void this.#fail(entry, new Error(`lease lost ${delivery.attempt - 1} times`), false);
      return;
    }
    this.#buffer.push(this.#track(delivery));
  }

  #track(delivery: Delivery): Held {
    const entry: Held = {
      delivery,
      started: false,
      settling: false,
      abandoned: false,
      controller: undefined,
      abortedWith: undefined,
    };
    this.#held.set(delivery.receipt, entry);
    return entry;
  }

  #dispatch(): void {
    while (this.#active < this.#config.concurrency && this.#buffer.length > 0) {
      this.#run(this.#buffer.shift()!);
    }
  }

  #run(entry: Held): void {
    const { delivery } = entry;
    entry.started = true;
    this.#active++;
    let payload: T;
    try {
      payload = this.#decode(delivery.body);
    } catch (error) {
      void this.#fail(entry, error, false);
      return;
    }
    const message = new DeliveredMessage<T>(delivery, payload, this.#name, (ms) =>
      this.#extend(entry, ms),
    );
    const context = new Context(entry);
    this.#delivered.add();
    handleInSpan(this.#process, delivery, () => this.#handler(message, context)).then(
      () => this.#ack(entry),
      (error: unknown) => this.#fail(entry, error, true),
    );
  }

  #ack(entry: Held): void {
    if (!entry.abandoned) {
      this.#acks.add(entry.delivery.receipt);
      this.#acked.add();
    }
    this.#complete(entry);
  }

  async #fail(entry: Held, error: unknown, retryable: boolean): Promise<void> {
    if (entry.abandoned) return this.#complete(entry);
    entry.settling = true;
    const { delivery } = entry;
    const { maxAttempts, backoff } = this.#config;
    const reason = describe(error);
    const canRetry =
      retryable &&
      !isNonRetryableError(error) &&
      !(error instanceof InvalidMessageError) &&
      this.#config.retryable(error);
    try {
      if (canRetry && delivery.attempt < maxAttempts) {
        const delayMs = Math.max(0, Math.floor(backoff(delivery.attempt, 0)));
        if (messagingChannels.retry.hasSubscribers) {
          messagingChannels.retry.publish({
            source: this.#name,
            id: delivery.id,
            attempt: delivery.attempt,
            delayMs,
          });
        }
        await this.#driver.release(this.#source, delivery.receipt, {
          delayMs,
          countAttempt: true,
          error: reason,
        });
        messagingCounters.retried().inc(this.#labels);
      } else if (this.#config.deadLetter) {
        if (messagingChannels.deadLetter.hasSubscribers) {
          messagingChannels.deadLetter.publish({
            source: this.#name,
            id: delivery.id,
            attempt: delivery.attempt,
            reason,
          });
        }
        await this.#driver.deadLetter(this.#source, delivery.receipt, reason);
        messagingCounters.deadLettered().inc(this.#labels);
      } else {
        await this.#driver.ack(this.#source, [delivery.receipt]);
      }
    } catch (driverError) {
      this.#report(canRetry ? 'release' : 'dead-letter', driverError);
    }
    this.#complete(entry);
  }

  #complete(entry: Held): void {
    if (this.#held.get(entry.delivery.receipt) !== entry) return;
    this.#held.delete(entry.delivery.receipt);
    if (entry.started) this.#active--;
    if (this.#stopping) {
      if (this.#active === 0) this.#idle?.();
      return;
    }
    this.#dispatch();
    if (!this.#drained && this.#held.size <= this.#lowWater) this.#wakeLoop();
  }

  async #extend(entry: Held, ms: number | undefined): Promise<void> {
    const lost = await this.#driver.extendLease(
      this.#source,
      [entry.delivery.receipt],
      ms ?? this.#config.leaseMs,
    );
    if (lost.length > 0) throw new LeaseLostError(entry.delivery.id);
  }

  async #renew(): Promise<void> {
    const receipts: string[] = [];
    for (const [receipt, entry] of this.#held) {
      if (!entry.settling && !entry.abandoned) receipts.push(receipt);
    }
    if (receipts.length === 0) return;
    let lost: string[];
    try {
      lost = await this.#driver.extendLease(this.#source, receipts, this.#config.leaseMs);
    } catch (error) {
      this.#report('extend-lease', error);
      return;
    }
    for (const receipt of lost) {
      const entry = this.#held.get(receipt);
      if (entry === undefined || entry.settling) continue;
      entry.abandoned = true;
      abortHandler(entry, new LeaseLostError(entry.delivery.id));
      if (!entry.started) {
        const at = this.#buffer.indexOf(entry);
        if (at >= 0) this.#buffer.splice(at, 1);
        this.#complete(entry);
      }
    }
  }

  async #releaseUnstarted(deliveries: readonly Delivery[]): Promise<void> {
    await Promise.all(
      deliveries.map((d) =>
        this.#driver
          .release(this.#source, d.receipt, { delayMs: 0, countAttempt: false })
          .catch((error: unknown) => this.#report('release', error)),
      ),
    );
  }

  async #shutdown(drainMs: number): Promise<void> {
    this.#stopping = true;
    this.#wakeLoop();
    await this.#loopDone;
    const unstarted = this.#buffer.splice(0).map((entry) => entry.delivery);
    for (const d of unstarted) this.#held.delete(d.receipt);
    await this.#releaseUnstarted(unstarted);
    if (this.#active > 0) {
      const idle = new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
      await within(idle, drainMs);
    }
    if (this.#active > 0) await this.#abandonRunning();
    await this.#acks.settled();
    clearInterval(this.#renewTimer);
    this.#unsubscribe?.();
    this.#resolveClosed();
  }

  async #abandonRunning(): Promise<void> {
    const running = [...this.#held.values()].filter((e) => !e.settling);
    for (const entry of running) {
      entry.abandoned = true;
      abortHandler(entry, new LeaseLostError(entry.delivery.id));
    }
    this.#hardStop.abort();
    await Promise.all(
      running.map((entry) =>
        this.#driver
          .release(this.#source, entry.delivery.receipt, { delayMs: 0, countAttempt: true })
          .catch((error: unknown) => this.#report('release', error)),
      ),
    );
  }

  #report(operation: 'claim' | 'ack' | 'release' | 'dead-letter' | 'extend-lease', error: unknown) {
    if (messagingChannels.consumerError.hasSubscribers) {
      messagingChannels.consumerError.publish({ source: this.#name, operation, error });
    }
  }
}

function describe(error: unknown): string {
  if (isSluiceError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
