import type { Msg, MsgHdrs } from '@nats-io/transport-node';

/**
 * A message delivered by a JetStream pull consumer, acknowledged through its reply subject
 * (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time ns>.<pending>`,
 * with a domain and account hash before the stream in the newer form). The client package
 * keeps its own wrapper internal, so this one does the same few things.
 */
export class JsDelivery {
  readonly msg: Msg;
  /** `<stream>/<consumer>` that delivered it. */
  readonly from: string;
  readonly seq: number;
  readonly deliveryCount: number;
  /** When the message was stored, in ms since the epoch. */
  readonly storedAt: number;

  constructor(msg: Msg) {
    this.msg = msg;
    const tokens = (msg.reply ?? '').split('.');
    const at = tokens.length === 9 ? 4 : tokens.length >= 11 ? 6 : -1;
    if (tokens[0] !== '$JS' || tokens[1] !== 'ACK' || at < 0) {
      throw new Error(`not a JetStream delivery: reply subject ${JSON.stringify(msg.reply)}`);
    }
    this.from = `${tokens[at - 2]}/${tokens[at - 1]}`;
    this.deliveryCount = Number(tokens[at]);
    this.seq = Number(tokens[at + 1]);
    const nanos = tokens[at + 3]!;
    this.storedAt = Number(nanos.slice(0, -6) || '0');
  }

  get headers(): MsgHdrs | undefined {
    return this.msg.headers;
  }

  ack(): void {
    this.msg.respond('+ACK');
  }

  /** Redelivers after `delayMs` (at once when 0). */
  nak(delayMs = 0): void {
    this.msg.respond(
      delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : '-NAK',
    );
  }

  /** Restarts the server's ack_wait timer for this delivery. */
  working(): void {
    this.msg.respond('+WPI');
  }
}

/** A status reply (404 no messages, 408 request expired, 409 ...) ends a pull request. */
export function isStatus(msg: Msg): boolean {
  return msg.reply === undefined || msg.reply === '' || (msg.headers?.code ?? 0) >= 100;
}
