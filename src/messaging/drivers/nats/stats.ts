import type { JetStreamManager } from '@nats-io/jetstream';
import type { QueueStats } from '../../driver.js';
import { queueWide } from '../../driver.js';

export interface StatsInput {
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly consumer: string;
  readonly deadLetters: () => Promise<number>;
  /** Messages this process nak'ed that the server has not redelivered yet. */
  readonly waiting: { readonly ready: number; readonly delayed: number };
}

/**
 * From the durable consumer: `num_pending` (never delivered) and `num_ack_pending`
 * (delivered, not acknowledged). The server counts a nak'ed message as ack pending until
 * it goes out again, so the ones this process gave back move to depth or delayed; the two
 * added up are every message not finished, whoever holds or delayed it: the lag.
 */
export async function queueStats(input: StatsInput): Promise<QueueStats> {
  const { jsm, stream, consumer } = input;
  const [info, deadLettered] = await Promise.all([
    jsm.consumers.info(stream, consumer),
    input.deadLetters(),
  ]);
  const waiting = Math.min(input.waiting.ready + input.waiting.delayed, info.num_ack_pending);
  const ready = Math.min(input.waiting.ready, waiting);
  const unacked = info.num_pending + info.num_ack_pending;
  return {
    depth: info.num_pending + ready,
    inFlight: info.num_ack_pending - waiting,
    delayed: waiting - ready,
    oldestAgeMs: unacked === 0 ? 0 : await oldestAge(jsm, stream, info.ack_floor.stream_seq + 1),
    deadLettered,
    lag: unacked,
    scope,
  };
}

/**
 * The server counts every process's messages; only which of the given-back ones are
 * delayed is known to the process that gave them back: another process's delayed
 * messages count as in flight here, so `delayed` is local (and `inFlight` counts them).
 */
const scope: QueueStats['scope'] = { ...queueWide, delayed: 'local', lag: 'queue' };

/** The age of the first message at or after `seq` (the consumer's first unacknowledged one). */
async function oldestAge(jsm: JetStreamManager, stream: string, seq: number): Promise<number> {
  const { state } = await jsm.streams.info(stream);
  let time = Date.parse(state.first_ts);
  if (seq > state.first_seq) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg !== null) time = msg.time.getTime();
  }
  return Math.max(0, Date.now() - time);
}
