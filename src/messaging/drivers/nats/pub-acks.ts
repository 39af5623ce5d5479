import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { JsApiError, type JsApiErrorBody, NatsRequestError } from './errors.js';
import { text } from './records.js';
import { ReplyInbox } from './reply-inbox.js';

export interface PubAck {
  readonly seq: number;
  readonly duplicate: boolean;
}

interface Waiter {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
}

/**
 * JetStream publishes, each awaiting its PubAck, with every reply on one long-lived wildcard
 * inbox. The client's own `js.publish` makes a request object, a timer, a copy of its
 * options and an Error (to cancel) per message; here a publish costs a map entry, and one
 * sweep ends those that wait past their deadline. Errors keep the client's names, so the
 * driver's translation (timeout, no stream, full) treats both paths alike.
 */
export class PubAcks {
  readonly #nc: NatsConnection;
  readonly #inbox: ReplyInbox;
  readonly #timeoutMs: number;
  readonly #waiting = new Map<string, Waiter>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#inbox = new ReplyInbox(nc, (msg) => this.#receive(msg));
  }

  publish(subject: string, body: string, headers: MsgHdrs): Promise<PubAck> {
    return new Promise((resolve, reject) => {
      const reply = this.#inbox.next();
      try {
        this.#nc.publish(subject, body, { headers, reply });
      } catch (error) {
        reject(error);
        return;
      }
      this.#waiting.set(reply, {
        resolve,
        reject,
        deadline: performance.now() + this.#timeoutMs,
      });
      this.#sweep ??= setInterval(() => this.#expire(), Math.min(250, this.#timeoutMs / 4));
    });
  }

  /** Rejects every publish still waiting (the driver closes). */
  close(): void {
    this.#inbox.close();
    this.#stop();
    const closed = new NatsRequestError('ClosedConnectionError', 'the connection is closed');
    for (const waiter of this.#waiting.values()) waiter.reject(closed);
    this.#waiting.clear();
  }

  #receive(msg: Msg): void {
    const waiter = this.#waiting.get(msg.subject);
    if (waiter === undefined) return;
    this.#waiting.delete(msg.subject);
    if (this.#waiting.size === 0) this.#stop();
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      waiter.reject(new NatsRequestError('NoRespondersError', `no responders: ${msg.subject}`));
      return;
    }
    let reply: { stream?: string; seq?: number; duplicate?: boolean; error?: JsApiErrorBody };
    try {
      reply = JSON.parse(text(msg.data));
    } catch {
      waiter.reject(new NatsRequestError('JetStreamError', 'invalid ack response'));
      return;
    }
    if (reply.error !== undefined) waiter.reject(new JsApiError(reply.error));
    else if (typeof reply.seq !== 'number' || !reply.stream) {
      waiter.reject(new NatsRequestError('JetStreamError', 'invalid ack response'));
    } else waiter.resolve({ seq: reply.seq, duplicate: reply.duplicate === true });
  }

  #expire(): void {
    const now = performance.now();
    // Inserted in deadline order: every deadline is now plus the same timeout.
    for (const [reply, waiter] of this.#waiting) {
      if (waiter.deadline > now) break;
      this.#waiting.delete(reply);
      waiter.reject(new NatsRequestError('TimeoutError', 'timeout waiting for the PubAck'));
    }
    if (this.#waiting.size === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}
