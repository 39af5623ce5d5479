import type { JetStreamManager } from '@nats-io/jetstream';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { UnsupportedError } from '../../../core/errors.js';
import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord } from '../../driver.js';
import { isFull, queueFull } from './errors.js';
import { checkPayloadSize, deadLetterRoom } from './payload-limit.js';
import type { PubAck, PubAcks } from './pub-acks.js';
import { type Meta, metaOf, msgId, writeMeta } from './records.js';

/** The shortest duplicate window JetStream accepts. */
export const minDedupeWindowMs = 100;

export interface PublishTarget {
  readonly stream: string;
  readonly subject: string;
  /** The server's `max_payload` (from its INFO): headers and body together may not exceed it. */
  readonly maxPayload: number;
}

/**
 * Publishes records to one stream, in order, and resolves once every one is stored. With
 * overflow "reject" a batch is all or nothing: it is refused up front when it cannot fit,
 * and if a concurrent producer fills the stream half-way, the part already stored is
 * deleted again before QueueFullError is thrown. Records with a producer id stay: the
 * duplicate window remembers their ids, so deleting them would make a retry lose them.
 * Every record is checked against the server's `max_payload` before any is sent: one too
 * large rejects the batch with SLUICE_INVALID_MESSAGE and nothing of it is stored.
 */
export async function publishRecords(
  acks: PubAcks,
  jsm: JetStreamManager,
  target: PublishTarget,
  records: readonly OutgoingRecord[],
  options: EnqueueOptions,
  extra: Partial<Meta> = {},
): Promise<EnqueueOutcome[]> {
  const dedupes = records.some((r) => r.dedupe) && options.dedupeWindowMs > 0;
  if (dedupes && options.dedupeWindowMs < minDedupeWindowMs) {
    throw new UnsupportedError(
      `the nats driver's dedupe window is at least ${minDedupeWindowMs} ms (JetStream's minimum), got ${options.dedupeWindowMs}`,
    );
  }
  if (options.overflow === 'reject' && records.length > 1) {
    const { state } = await jsm.streams.info(target.stream);
    if (state.messages + records.length > options.maxLength) {
      throw queueFull(target.stream, options.maxLength);
    }
  }
  const headers = records.map((record, i) => {
    const h = headersOf(record, options, extra);
    checkPayloadSize(record.body, h, target.maxPayload, i, records.length, deadLetterRoom);
    return h;
  });
  const send = (record: OutgoingRecord, i: number) =>
    acks.publish(target.subject, record.body, headers[i]!);
  if (records.length === 1) {
    // The common case, without the bookkeeping a batch needs to undo a half-stored one.
    try {
      return [(await send(records[0]!, 0)).duplicate ? 'duplicate' : 'stored'];
    } catch (error) {
      if (options.overflow === 'reject' && isFull(error)) {
        throw queueFull(target.stream, options.maxLength, error);
      }
      throw error;
    }
  }
  const settled = await Promise.allSettled(records.map(send));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure === undefined) {
    return settled.map((s) =>
      (s as PromiseFulfilledResult<PubAck>).value.duplicate ? 'duplicate' : 'stored',
    );
  }
  if (options.overflow === 'reject' && isFull(failure.reason)) {
    const undo: number[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled' && !s.value.duplicate && !records[i]!.dedupe)
        undo.push(s.value.seq);
    });
    await Promise.all(undo.map((seq) => jsm.streams.deleteMessage(target.stream, seq, false)));
    throw queueFull(target.stream, options.maxLength, failure.reason);
  }
  throw failure.reason;
}

function headersOf(record: OutgoingRecord, options: EnqueueOptions, extra: Partial<Meta>): MsgHdrs {
  const h = natsHeaders();
  writeMeta(h, metaOf(record, extra));
  if (record.dedupe && options.dedupeWindowMs > 0) h.set('Nats-Msg-Id', msgId(record.id));
  return h;
}
