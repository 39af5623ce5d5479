import type { NatsConnection } from '@nats-io/transport-node';
import type { JsDelivery } from './jsmsg.js';

/**
 * JetStream applies a consumer's acks and naks on its own, apart from API requests, so a
 * consumer info sent right after an ack may still count the message as pending. It applies
 * one consumer's acks in the order they arrive, though, and answers any of them that asks
 * for a reply: a `+WPI` (in progress) with a reply on the last message this process acked
 * there, answered, means every ack and nak sent before it is applied. On an acked message
 * WPI does nothing; had the stream been made again and the sequence number reused, it would
 * only restart that message's ack_wait (an ack there could lose a message). Acks stay
 * unawaited on the hot path; only stats() pays the round trip, and only after new acks.
 */
export class AcksSeen {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #lastAcked = new Map<string, JsDelivery>();

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
  }

  /** `delivery` is the latest message this process acked on `source`. */
  acked(source: string, delivery: JsDelivery): void {
    this.#lastAcked.set(source, delivery);
  }

  /** Resolves once the server has applied this process's settlements on `source`. */
  async settle(source: string): Promise<void> {
    const last = this.#lastAcked.get(source);
    if (last?.msg.reply === undefined) return;
    this.#lastAcked.delete(source);
    // No reply in time (the connection dropped): the stats are as fresh as the server has.
    await this.#nc.request(last.msg.reply, '+WPI', { timeout: this.#timeoutMs }).catch(() => {});
  }

  /** The consumer is gone: its sequence numbers may start over. */
  forget(source: string): void {
    this.#lastAcked.delete(source);
  }

  clear(): void {
    this.#lastAcked.clear();
  }
}
