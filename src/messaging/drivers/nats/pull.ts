import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { isStatus, JsDelivery } from './jsmsg.js';
import { ReplyInbox } from './reply-inbox.js';

interface Request {
  readonly batch: number;
  readonly got: JsDelivery[];
  readonly finish: (error?: Error) => void;
}

/**
 * Pull requests that return at once with what is available (`no_wait`), so a claim never
 * holds messages it did not ask for and never waits for more.
 *
 * JetStream delivers with the message's own subject, so replies are told apart by the
 * consumer named in their ack subject: each consumer has at most one request open here at a
 * time, and all replies arrive on one long-lived wildcard inbox. A delivery no request is
 * waiting for (one that arrives late, or answers a request the client held back during a
 * disconnect and sent after reconnecting) is handed straight back with a nak.
 */
export class Puller {
  readonly #nc: NatsConnection;
  readonly #inbox: ReplyInbox;
  readonly #timeoutMs: number;
  readonly #active = new Map<string, Request>();
  /** Open requests by their reply subject. */
  readonly #byReply = new Map<string, Request>();
  readonly #turns = new Map<string, Promise<unknown>>();

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#inbox = new ReplyInbox(nc, (msg) => this.#receive(msg));
  }

  pull(
    stream: string,
    consumer: string,
    batch: number,
    signal?: AbortSignal,
  ): Promise<JsDelivery[]> {
    const from = `${stream}/${consumer}`;
    const previous = this.#turns.get(from) ?? Promise.resolve();
    const run = previous.then(() => this.#request(stream, consumer, from, batch, signal));
    const turn = run.catch(() => undefined);
    this.#turns.set(from, turn);
    void turn.then(() => {
      if (this.#turns.get(from) === turn) this.#turns.delete(from);
    });
    return run;
  }

  /** Ends every open request with what it has (the connection dropped: no more will come). */
  interrupt(): void {
    for (const request of [...this.#byReply.values()]) request.finish();
  }

  close(): void {
    this.interrupt();
    this.#inbox.close();
  }

  #request(
    stream: string,
    consumer: string,
    from: string,
    batch: number,
    signal: AbortSignal | undefined,
  ): Promise<JsDelivery[]> {
    if (signal?.aborted) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const reply = this.#inbox.next();
      const got: JsDelivery[] = [];
      const end = () => request.finish();
      const request: Request = {
        batch,
        got,
        finish: (error) => {
          if (this.#byReply.get(reply) !== request) return;
          this.#byReply.delete(reply);
          if (this.#active.get(from) === request) this.#active.delete(from);
          clearTimeout(timer);
          signal?.removeEventListener('abort', end);
          if (error === undefined || got.length > 0) resolve(got);
          else reject(error);
        },
      };
      this.#byReply.set(reply, request);
      this.#active.set(from, request);
      // A lost request (connection dropped) ends with what arrived; the caller pulls again.
      const timer = setTimeout(end, this.#timeoutMs);
      signal?.addEventListener('abort', end, { once: true });
      this.#nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
        JSON.stringify({ batch, no_wait: true }),
        { reply },
      );
    });
  }

  #receive(msg: Msg): void {
    if (isStatus(msg)) {
      const request = this.#byReply.get(msg.subject);
      // 503: nobody answers for that consumer (it or its stream was deleted).
      const missing = msg.headers?.code === 503;
      request?.finish(missing ? new MissingConsumerError(msg.subject) : undefined);
      return;
    }
    const delivery = new JsDelivery(msg);
    const request = this.#active.get(delivery.from);
    if (request === undefined || request.got.length >= request.batch) {
      delivery.nak();
      return;
    }
    request.got.push(delivery);
    if (request.got.length >= request.batch) request.finish();
  }
}

export class MissingConsumerError extends Error {
  constructor(inbox: string) {
    super(`no JetStream consumer answered the pull request on ${inbox} (deleted?)`);
    this.name = 'MissingConsumerError';
  }
}
