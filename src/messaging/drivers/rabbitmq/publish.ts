import type { ConfirmChannel, Message, Options } from 'amqplib';
import { EngineUnavailableError } from '../../../core/errors.js';
import { OutcomeUnknownError, QueueMissingError } from './errors.js';
import type { Link } from './link.js';

/** Publishes awaiting their confirm, per channel, for matching basic.return frames. */
interface Pending {
  readonly routingKey: string;
  readonly messageId: string | undefined;
  returned: boolean;
}
const inFlight = new WeakMap<ConfirmChannel, Pending[]>();

function pendingOf(channel: ConfirmChannel): Pending[] {
  let pending = inFlight.get(channel);
  if (pending === undefined) {
    const list: Pending[] = [];
    pending = list;
    inFlight.set(channel, list);
    // The broker sends basic.return before the confirm of the same message.
    channel.on('return', (message: Message) => {
      const hit = list.find(
        (p) =>
          !p.returned &&
          p.routingKey === message.fields.routingKey &&
          p.messageId === message.properties.messageId,
      );
      if (hit !== undefined) hit.returned = true;
    });
  }
  return pending;
}

/**
 * Publishes on the shared confirm channel and settles on the broker's confirm: resolves on
 * ack; rejects on a nack, on a return (`mandatory` and no queue to take it), or when the
 * channel or connection closes before the confirm (then with OutcomeUnknownError, as the
 * message may be stored). `options` is the caller's own: it is
 * completed in place.
 */
export function confirmPublish(
  link: Link,
  exchange: string,
  routingKey: string,
  body: string,
  options: Options.Publish,
): Promise<void> {
  const open = link.openPublishChannel();
  if (open !== undefined) return publishOn(open, exchange, routingKey, body, options);
  return link
    .shared('publish')
    .then((channel) => publishOn(channel, exchange, routingKey, body, options));
}

function publishOn(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: string,
  options: Options.Publish,
): Promise<void> {
  const mandatory = exchange === '';
  const pending: Pending = { routingKey, messageId: options.messageId, returned: false };
  const list = mandatory ? pendingOf(channel) : undefined;
  list?.push(pending);
  const where = exchange || routingKey;
  options.mandatory = mandatory;
  return new Promise<void>((resolve, reject) => {
    let sent = false;
    let done = false;
    const settle = (error: unknown) => {
      if (done) return;
      done = true;
      if (list !== undefined) {
        // Confirms come in publish order: this one is nearly always first.
        const at = list[0] === pending ? 0 : list.indexOf(pending);
        if (at >= 0) list.splice(at, 1);
      }
      if ((error === null || error === undefined) && !pending.returned) {
        resolve();
        return;
      }
      const nacked = error instanceof Error && /nack/i.test(error.message);
      if (pending.returned) {
        reject(new QueueMissingError(where, { cause: error ?? undefined }));
      } else if (sent && !nacked) {
        reject(new OutcomeUnknownError(where, { cause: error ?? undefined }));
      } else {
        const message = nacked
          ? `RabbitMQ refused the message (nack) for ${where}`
          : `publish to ${where} failed: ${String(error)}`;
        reject(new EngineUnavailableError(message, { cause: error ?? undefined }));
      }
    };
    try {
      channel.publish(exchange, routingKey, Buffer.from(body, 'utf8'), options, settle);
      sent = true;
    } catch (error) {
      settle(error ?? new Error('publish failed'));
    }
  });
}
