import type { Channel } from 'amqplib';
import type { Held } from './leases.js';

/**
 * Acks a batch of deliveries with as few frames as each channel allows. One ack with
 * `multiple` settles every unsettled delivery tag up to its own on that channel, so it
 * covers the batch's tags below `lowestOther(channel)`, the lowest tag still outstanding
 * there outside the batch (held, or pushed and not claimed yet); the others are acked one
 * by one. A channel `lowestOther` cannot vouch for (undefined: a retiring subscription's)
 * is acked one by one throughout.
 */
export function ackBatch(
  batch: readonly Held[],
  lowestOther: (channel: Channel) => number | undefined,
): Set<Channel> {
  const byChannel = new Map<Channel, Held[]>();
  for (const held of batch) {
    const list = byChannel.get(held.channel);
    if (list === undefined) byChannel.set(held.channel, [held]);
    else list.push(held);
  }
  for (const [channel, list] of byChannel) {
    const low = list.length > 1 ? lowestOther(channel) : undefined;
    try {
      if (low === undefined) {
        for (const held of list) channel.ack(held.message);
        continue;
      }
      let upTo: Held | undefined;
      for (const held of list) {
        const tag = held.message.fields.deliveryTag;
        if (tag >= low) channel.ack(held.message);
        else if (upTo === undefined || tag > upTo.message.fields.deliveryTag) upTo = held;
      }
      if (upTo !== undefined) channel.ack(upTo.message, true);
    } catch {
      // The channel closed under the deliveries: the broker requeues them, as for a crash.
    }
  }
  return new Set(byChannel.keys());
}
