import type { ConfirmChannel, Message, Options } from 'amqplib';
import { EngineUnavailableError } from '../../../core/errors.js';
import { QueueMissingError } from './errors.js';
import type { Link } from './link.js';
import { confirms } from './metrics.js';

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
 * channel or connection closes before the confirm.
 */
export async function confirmPublish(
  link: Link,
  exchange: string,
  routingKey: string,
  body: string,
  options: Options.Publish,
): Promise<void> {
  const channel = await link.shared('publish');
  const mandatory = exchange === '';
  const pending: Pending = { routingKey, messageId: options.messageId, returned: false };
  const list = mandatory ? pendingOf(channel) : undefined;
  list?.push(pending);
  const where = exchange || routingKey;
  try {
    await new Promise<void>((resolve, reject) => {
      const settle = (error: unknown) => {
        if ((error === null || error === undefined) && !pending.returned) {
          confirms.inc({ outcome: 'ack' });
          resolve();
          return;
        }
        const nacked = error instanceof Error && /nack/i.test(error.message);
        confirms.inc({ outcome: nacked ? 'nack' : 'failed' });
        if (pending.returned) {
          reject(new QueueMissingError(where, { cause: error ?? undefined }));
          return;
        }
        const message = nacked
          ? `RabbitMQ refused the message (nack) for ${where}`
          : `the channel closed before RabbitMQ confirmed the message for ${where}`;
        reject(new EngineUnavailableError(message, { cause: error ?? undefined }));
      };
      try {
        channel.publish(
          exchange,
          routingKey,
          Buffer.from(body, 'utf8'),
          { ...options, mandatory },
          settle,
        );
      } catch (error) {
        settle(error ?? new Error('publish failed'));
      }
    });
  } finally {
    if (list !== undefined) list.splice(list.indexOf(pending), 1);
  }
}
