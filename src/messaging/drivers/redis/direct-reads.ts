import type { Redis } from 'ioredis';
import type { Delivery } from '../../driver.js';
import { type Fields, toDelivery } from './records.js';

export interface DirectRead {
  readonly deliveries: Delivery[];
  /** Server time of the earliest delayed message or released entry, if any. */
  readonly dueAt: number | undefined;
  readonly serverNow: number;
}

type Reply<T> = [Error | null, T];
type ReadReply = [string, [string, Fields][]][] | null;

/**
 * The claim of a consumer that needs none of the claim script's work: not ordered by key,
 * and asking for a lease of exactly the horizon, which a first delivery has by itself (see
 * lua-prelude.ts). One XREADGROUP, with the heads of the delayed and released sets and the
 * server time in the same round trip, so the caller knows when that work falls due. Entries
 * read with `>` were never delivered: token 1, attempt 1, nothing to write. Resolves
 * undefined when the stream or its group is gone (Redis lost them); the script handles that.
 */
export async function readDirect(
  client: Redis,
  base: string,
  consumer: string,
  max: number,
): Promise<DirectRead | undefined> {
  const replies = (await client
    .pipeline()
    .xreadgroup('GROUP', 'sluice', consumer, 'COUNT', max, 'STREAMS', `${base}:s`, '>')
    .zrange(`${base}:d`, 0, 0, 'WITHSCORES')
    .zrange(`${base}:r`, 0, 0, 'WITHSCORES')
    .time()
    .exec()) as [Reply<ReadReply>, Reply<string[]>, Reply<string[]>, Reply<[string, string]>];
  const [read, delayed, released, time] = replies;
  for (const [error] of replies) {
    if (error === null) continue;
    if (error.message.startsWith('NOGROUP')) return undefined;
    throw error;
  }
  const entries = read[1]?.[0]?.[1] ?? [];
  const dueAt = earliest(delayed[1], released[1]);
  const [seconds, micros] = time[1];
  return {
    deliveries: entries.map(([entryId, fields]) => toDelivery(entryId, 1, 1, fields)),
    dueAt,
    serverNow: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000),
  };
}

function earliest(...heads: string[][]): number | undefined {
  let best: number | undefined;
  for (const head of heads) {
    if (head.length < 2) continue;
    const at = Number(head[1]);
    if (best === undefined || at < best) best = at;
  }
  return best;
}
