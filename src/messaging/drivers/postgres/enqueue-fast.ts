import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord } from '../../driver.js';
import type { PgContext } from './context.js';

/**
 * The common case in one autocommitted statement (one round trip, one commit): a queue
 * whose cheap length bound leaves room for the whole batch. De-dupe, insert and NOTIFY are
 * CTEs of that statement. Returns undefined, having changed nothing, when the queue may be
 * near full; the caller then takes the transaction that counts exactly.
 */
export async function enqueueInOneStatement(
  ctx: PgContext,
  queue: string,
  records: readonly OutgoingRecord[],
  options: EnqueueOptions,
): Promise<EnqueueOutcome[] | undefined> {
  const { s } = ctx;
  const outcomes: EnqueueOutcome[] = records.map(() => 'stored');
  const checked: boolean[] = [];
  const sent: OutgoingRecord[] = [];
  const ids = new Set<string>();
  records.forEach((record, i) => {
    const check = record.dedupe && options.dedupeWindowMs > 0;
    if (check && ids.has(record.id)) {
      outcomes[i] = 'duplicate';
      return;
    }
    if (check) ids.add(record.id);
    checked.push(check);
    sent.push(record);
  });
  const { rows } = await ctx.pool.query<{ ok: boolean; fresh: string[] }>(
    `WITH span AS (
       SELECT coalesce(max(seq) - min(seq) + 1, 0) AS bound FROM ${s}.messages WHERE source = $1),
     ok AS (SELECT 1 FROM span WHERE bound + $2 <= $3),
     fresh AS (
       INSERT INTO ${s}.dedupe AS d (target, id, expires_at)
       SELECT $1, r.id, ${s}.now_ms() + $4
       FROM ok, unnest($5::text[], $10::bool[]) AS r(id, checked) WHERE r.checked
       ON CONFLICT (target, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE d.expires_at <= ${s}.now_ms()
       RETURNING id),
     stored AS (
       INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at)
       SELECT $1, r.id, r.key, r.headers, r.body, ${s}.now_ms(), ${s}.now_ms() + r.delay
       FROM ok, unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bool[])
         WITH ORDINALITY AS r(id, key, headers, body, delay, checked, n)
       WHERE NOT r.checked OR r.id IN (SELECT id FROM fresh)
       ORDER BY r.n
       RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM ok) AS ok, ARRAY(SELECT id FROM fresh) AS fresh,
            CASE WHEN EXISTS (SELECT 1 FROM stored) THEN pg_notify($11, $1) END AS notified`,
    [
      `q:${queue}`,
      sent.length,
      options.maxLength,
      options.dedupeWindowMs,
      sent.map((r) => r.id),
      sent.map((r) => r.key ?? null),
      sent.map((r) => JSON.stringify(r.headers)),
      sent.map((r) => r.body),
      sent.map((r) => r.delayMs),
      checked,
      ctx.channel,
    ],
  );
  const row = rows[0]!;
  if (!row.ok) return undefined;
  const fresh = new Set(row.fresh);
  records.forEach((record, i) => {
    if (
      outcomes[i] === 'stored' &&
      record.dedupe &&
      options.dedupeWindowMs > 0 &&
      !fresh.has(record.id)
    ) {
      outcomes[i] = 'duplicate';
    }
  });
  return outcomes;
}
