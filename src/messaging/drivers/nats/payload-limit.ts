import type { MsgHdrs } from '@nats-io/transport-node';
import { InvalidMessageError } from '../../errors.js';
import { metaHeader } from './records.js';

/** Room for the header framing, `Nats-Msg-Id` and any header besides the meta one. */
const framing = 1024;

/**
 * What a queued message leaves free of `max_payload`: its dead letter carries the same body
 * and meta plus the attempt, times and (cut to fit) error, and must fit too, or a message
 * that fails every time could never leave its queue.
 */
export const deadLetterRoom = 256;

/**
 * nats-server refuses a message whose headers and body together exceed its `max_payload`
 * (1 MiB by default: as much as Sluice's own payload limit, which counts the body only).
 * Checked before anything of a batch is sent, so a batch is stored whole or not at all.
 */
export function checkPayloadSize(
  body: string,
  h: MsgHdrs,
  max: number,
  at: number,
  of: number,
  reserved = 0,
): void {
  // Characters bound bytes from below: only encode the headers when it might matter.
  if ((body.length + (h.get(metaHeader)?.length ?? 0) + framing) * 3 <= max - reserved) return;
  // `headers()` makes a MsgHdrsImpl, whose encode() is what goes on the wire.
  const encoded = (h as MsgHdrs & { encode(): Uint8Array }).encode();
  const size = Buffer.byteLength(body) + encoded.byteLength;
  if (size <= max - reserved) return;
  const which = of === 1 ? 'the message' : `message ${at + 1} of ${of}`;
  const room = reserved === 0 ? '' : ` less ${reserved} bytes kept for its dead letter`;
  throw new InvalidMessageError(
    `${which} is ${size} bytes with its headers, over the NATS server's max_payload of ${max}${room}; nothing was stored`,
  );
}
