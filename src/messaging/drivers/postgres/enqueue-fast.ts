import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord } from '../../driver.js';
import type { PgContext } from './context.js';
import { perSchema } from './statements.js';

/**
 * The rows of a batch: $4 ids, $5 keys, $6 headers, $7 bodies, $8 delays. A column that is
 * null, `{}` or 0 throughout is sent as one NULL rather than an array of them (ROWS FROM
 * pads it with NULLs), which spares encoding and parsing an element per message. The
 * bodies travel as one JSON array of strings: they are JSON text already, with no control
 * character or lone surrogate left to refuse, and JSON.stringify escapes them for a
 * fraction of what pg's text[] literal costs per element.
 */
function rowsSql(s: string, deduped: boolean): string {
  const checked = deduped ? ', unnest($10::bool[])' : '';
  return `SELECT $1, r.id, r.key, coalesce(r.headers, '{}'), r.body, ${s}.now_ms(),
            ${s}.now_ms() + coalesce(r.delay, 0)
     FROM ok, ROWS FROM (unnest($4::text[]), unnest($5::text[]), unnest($6::text[]),
         json_array_elements_text($7::json), unnest($8::bigint[])${checked})
       WITH ORDINALITY AS r(id, key, headers, body, delay${deduped ? ', checked' : ''}, n)`;
}

/** The cheap length bound of enqueue.ts's makeRoom: two probes of `messages_seq`. */
function roomSql(s: string): string {
  return `span AS (
       SELECT coalesce(max(seq) - min(seq) + 1, 0) AS bound FROM ${s}.messages WHERE source = $1),
     ok AS (SELECT 1 FROM span WHERE bound + $2 <= $3)`;
}

/** No producer-chosen id in the batch: nothing to de-duplicate. */
export function enqueueSql(s: string): string {
  return `WITH ${roomSql(s)},
     stored AS (
       INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at)
       ${rowsSql(s, false)}
       ORDER BY r.n
       RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM ok) AS ok,
            CASE WHEN EXISTS (SELECT 1 FROM stored) THEN pg_notify($9, $1) END AS notified`;
}

/**
 * With producer ids ($10 says which rows to check, $11 is the window): an id inserted into
 * `dedupe`, or taken over from an expired entry, is new; a live entry makes a duplicate.
 */
export function enqueueDedupedSql(s: string): string {
  return `WITH ${roomSql(s)},
     fresh AS (
       INSERT INTO ${s}.dedupe AS d (target, id, expires_at)
       SELECT $1, r.id, ${s}.now_ms() + $11
       FROM ok, unnest($4::text[], $10::bool[]) AS r(id, checked) WHERE r.checked
       ON CONFLICT (target, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE d.expires_at <= ${s}.now_ms()
       RETURNING id),
     stored AS (
       INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at)
       ${rowsSql(s, true)}
       WHERE NOT r.checked OR r.id IN (SELECT id FROM fresh)
       ORDER BY r.n
       RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM ok) AS ok, ARRAY(SELECT id FROM fresh) AS fresh,
            CASE WHEN EXISTS (SELECT 1 FROM stored) THEN pg_notify($9, $1) END AS notified`;
}

const statements = perSchema((s) => ({
  plain: enqueueSql(s),
  deduped: enqueueDedupedSql(s),
}));

/** The column as an array, or null when every value is `empty` (see rowsSql). */
function column<V>(records: readonly OutgoingRecord[], pick: (r: OutgoingRecord) => V, empty: V) {
  let values: V[] | null = null;
  for (let i = 0; i < records.length; i++) {
    const value = pick(records[i]!);
    if (values === null && value !== empty) {
      values = new Array<V>(records.length).fill(empty, 0, i);
    }
    if (values !== null) values[i] = value;
  }
  return values;
}

function headersText(record: OutgoingRecord): string {
  for (const _ in record.headers) return JSON.stringify(record.headers);
  return '{}';
}

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
  const window = options.dedupeWindowMs;
  const outcomes: EnqueueOutcome[] = new Array(records.length).fill('stored');
  let sent = records;
  let checked: boolean[] | undefined;
  if (window > 0 && records.some((r) => r.dedupe)) {
    // A producer id twice in one batch: the later ones are duplicates of the first.
    const ids = new Set<string>();
    const kept: OutgoingRecord[] = [];
    const check: boolean[] = [];
    records.forEach((record, i) => {
      if (record.dedupe && ids.has(record.id)) {
        outcomes[i] = 'duplicate';
        return;
      }
      if (record.dedupe) ids.add(record.id);
      check.push(record.dedupe);
      kept.push(record);
    });
    sent = kept;
    checked = check;
  }
  const values: unknown[] = [
    `q:${queue}`,
    sent.length,
    options.maxLength,
    sent.map((r) => r.id),
    column(sent, (r) => r.key ?? null, null),
    column(sent, headersText, '{}'),
    JSON.stringify(sent.map((r) => r.body)),
    column(sent, (r) => r.delayMs, 0),
    ctx.channel,
  ];
  const { plain, deduped } = statements(s);
  if (checked !== undefined) values.push(checked, window);
  const { rows } = await ctx.pool.query<{ ok: boolean; fresh?: string[] }>(
    checked === undefined ? plain : deduped,
    values,
  );
  const row = rows[0]!;
  if (!row.ok) return undefined;
  if (checked === undefined) return outcomes;
  const fresh = new Set(row.fresh ?? []);
  records.forEach((record, i) => {
    if (outcomes[i] === 'stored' && record.dedupe && !fresh.has(record.id)) {
      outcomes[i] = 'duplicate';
    }
  });
  return outcomes;
}
