import type { PoolClient } from 'pg';
import { QueueFullError } from '../../../core/errors.js';
import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord, Target } from '../../driver.js';
import { type PgContext, targetKey, transaction } from './context.js';

/**
 * Stores records for a queue, or for every group of a topic, in one transaction: de-dupe
 * against the window, make room (or refuse), insert, and NOTIFY. The notification is sent
 * at commit, so a woken consumer always finds the rows.
 */
export function enqueue(
  ctx: PgContext,
  target: Target,
  records: readonly OutgoingRecord[],
  options: EnqueueOptions,
): Promise<EnqueueOutcome[]> {
  return transaction(ctx, async (client) => {
    const { s } = ctx;
    const sources =
      target.kind === 'queue'
        ? [`q:${target.queue}`]
        : (
            await client.query<{ grp: string }>(
              `SELECT grp FROM ${s}.groups WHERE topic = $1 ORDER BY grp`,
              [target.topic],
            )
          ).rows.map((r) => `s:${target.topic}/${r.grp}`);
    const outcomes = await dedupe(ctx, client, target, records, options.dedupeWindowMs);
    const fresh = records.filter((_, i) => outcomes[i] === 'stored');
    if (fresh.length === 0 || sources.length === 0) return outcomes;
    for (const source of sources) await makeRoom(ctx, client, source, fresh.length, options);
    await client.query(
      `WITH stored AS (
         INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at)
         SELECT q.src, r.id, r.key, r.headers, r.body, ${s}.now_ms(), ${s}.now_ms() + r.delay
         FROM unnest($1::text[]) WITH ORDINALITY AS q(src, qn)
         CROSS JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
           WITH ORDINALITY AS r(id, key, headers, body, delay, n)
         ORDER BY q.qn, r.n
         RETURNING 1)
       SELECT pg_notify($7, src) FROM unnest($1::text[]) AS src WHERE EXISTS (SELECT 1 FROM stored)`,
      [
        sources,
        fresh.map((r) => r.id),
        fresh.map((r) => r.key ?? null),
        fresh.map((r) => JSON.stringify(r.headers)),
        fresh.map((r) => r.body),
        fresh.map((r) => r.delayMs),
        ctx.channel,
      ],
    );
    return outcomes;
  });
}

async function dedupe(
  ctx: PgContext,
  client: PoolClient,
  target: Target,
  records: readonly OutgoingRecord[],
  windowMs: number,
): Promise<EnqueueOutcome[]> {
  const outcomes: EnqueueOutcome[] = records.map(() => 'stored');
  if (windowMs <= 0) return outcomes;
  const ids: string[] = [];
  const firstIndex = new Map<string, number>();
  records.forEach((record, i) => {
    if (!record.dedupe) return;
    if (firstIndex.has(record.id)) outcomes[i] = 'duplicate';
    else {
      firstIndex.set(record.id, i);
      ids.push(record.id);
    }
  });
  if (ids.length === 0) return outcomes;
  // Inserted, or taken over from an expired entry: new. A live entry: a duplicate. A
  // concurrent publisher of the same id waits on the row lock, so only one of them stores.
  const { s } = ctx;
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${s}.dedupe AS d (target, id, expires_at)
     SELECT $1, unnest($2::text[]), ${s}.now_ms() + $3
     ON CONFLICT (target, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE d.expires_at <= ${s}.now_ms()
     RETURNING id`,
    [targetKey(target), ids, windowMs],
  );
  const fresh = new Set(rows.map((r) => r.id));
  for (const [id, i] of firstIndex) if (!fresh.has(id)) outcomes[i] = 'duplicate';
  return outcomes;
}

/**
 * Enforces maxLength. The rows of one source lie between its lowest and highest `seq`, so
 * that span bounds its length at the cost of two index probes; only a queue that may be
 * near full is counted, under a per-source lock. Concurrent publishers that all pass the
 * cheap bound can overshoot by at most their batches.
 */
async function makeRoom(
  ctx: PgContext,
  client: PoolClient,
  source: string,
  incoming: number,
  options: EnqueueOptions,
): Promise<void> {
  const { s } = ctx;
  const { maxLength } = options;
  const span = await client.query<{ lo: string | null; hi: string | null }>(
    `SELECT min(seq) AS lo, max(seq) AS hi FROM ${s}.messages WHERE source = $1`,
    [source],
  );
  const { lo, hi } = span.rows[0]!;
  const bound = lo === null || hi === null ? 0 : Number(hi) - Number(lo) + 1;
  if (bound + incoming <= maxLength) return;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice-length:${source}`]);
  const counted = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM ${s}.messages WHERE source = $1 LIMIT $2) t`,
    [source, maxLength + incoming],
  );
  const length = Number(counted.rows[0]!.n);
  const excess = length + incoming - maxLength;
  if (excess <= 0) return;
  if (options.overflow === 'reject' || incoming > maxLength) {
    throw new QueueFullError(`queue holds ${length} of at most ${maxLength} messages`);
  }
  const dropped = await client.query(
    `WITH victims AS (
       SELECT seq FROM ${s}.messages
       WHERE source = $1 AND lease_token IS NULL
       ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
     DELETE FROM ${s}.messages m USING victims v WHERE m.source = $1 AND m.seq = v.seq`,
    [source, excess],
  );
  if ((dropped.rowCount ?? 0) < excess)
    throw new QueueFullError('queue is full of messages in flight');
}
