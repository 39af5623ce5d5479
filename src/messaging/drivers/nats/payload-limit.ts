import type { MsgHdrs } from '@nats-io/transport-node';
import { InvalidMessageError } from '../../errors.js';
import { metaHeader } from './records.js';

/** Room for the header framing, `Nats-Msg-Id` and any header besides the meta one. */
const framing = 1024;

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
): void {
  // Characters bound bytes from below: only encode the headers when it might matter.
  if ((body.length + (h.get(metaHeader)?.length ?? 0) + framing) * 3 <= max) return;
  // `headers()` makes a MsgHdrsImpl, whose encode() is what goes on the wire.
  const encoded = (h as MsgHdrs & { encode(): Uint8Array }).encode();
  const size = Buffer.byteLength(body) + encoded.byteLength;
  if (size <= max) return;
  const which = of === 1 ? 'the message' : `message ${at + 1} of ${of}`;
  throw new InvalidMessageError(
    `${which} is ${size} bytes with its headers, over the NATS server's max_payload of ${max}; nothing was stored`,
  );
}
