import type { JetStreamManager } from '@nats-io/jetstream';
import type { JsDelivery } from './jsmsg.js';
import type { Puller } from './pull.js';

export type Start = { readonly seq: number } | { readonly time: number };

/**
 * Reads up to `limit` stored messages in order from a position, through a short-lived
 * consumer that acknowledges nothing, so the read changes no one's delivery state.
 */
export async function scan(
  jsm: JetStreamManager,
  puller: Puller,
  stream: string,
  start: Start,
  limit: number,
): Promise<JsDelivery[]> {
  if (limit <= 0) return [];
  const info = await jsm.consumers.add(stream, {
    ack_policy: 'none',
    mem_storage: true,
    inactive_threshold: 30_000_000_000,
    ...('seq' in start
      ? { deliver_policy: 'by_start_sequence', opt_start_seq: Math.max(1, start.seq) }
      : { deliver_policy: 'by_start_time', opt_start_time: new Date(start.time).toISOString() }),
  });
  try {
    return await puller.pull(stream, info.name, limit);
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
}

/** Calls `visit` with every message of the stream, a page at a time. */
export async function scanAll(
  jsm: JetStreamManager,
  puller: Puller,
  stream: string,
  visit: (page: JsDelivery[]) => Promise<void>,
): Promise<void> {
  const pageSize = 1000;
  for (let seq = 1; ; ) {
    const page = await scan(jsm, puller, stream, { seq }, pageSize);
    if (page.length === 0) return;
    await visit(page);
    seq = page.at(-1)!.seq + 1;
    if (page.length < pageSize) return;
  }
}
