import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord } from '../../driver.js';
import { type PgContext, textArray } from './context.js';
import { pinned } from './hot-functions.js';
import { perSchema } from './statements.js';

/**
 * The rows of a batch: $4 ids, $5 keys, $6 headers, $7 bodies, $8 delays (and with
 * de-dupe $10, which ids to check). A column that is null, `{}` or 0 throughout is sent
 * as one NULL rather than an array of them (ROWS FROM pads it with NULLs), which spares
 * encoding and parsing an element per message. The bodies travel as one JSON array of
 * strings: they are JSON text already, with no control character or lone surrogate left
 * to refuse, and JSON.stringify escapes them for a fraction of what pg's text[] literal
 * costs per element.
 */
function insertSql(s: string, deduped: boolean): string {
  return `INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at)
      SELECT $1, r.id, r.key, coalesce(r.headers, '{}'), r.body, ${s}.now_ms(),
             ${s}.now_ms() + coalesce(r.delay, 0)
      FROM ROWS FROM (unnest($4), unnest($5), unnest($6), json_array_elements_text($7),
          unnest($8)${deduped ? ', unnest($10)' : ''})
        WITH ORDINALITY AS r(id, key, headers, body, delay${deduped ? ', checked' : ''}, n)
      ${deduped ? 'WHERE NOT r.checked OR r.id = ANY(fresh)' : ''}
      ORDER BY r.n`;
}

/** The cheap length bound of enqueue.ts's makeRoom: two probes of `messages_seq`. */
function tooFullSql(s: string): string {
  return `(SELECT coalesce(max(m.seq) - min(m.seq) + 1, 0) FROM ${s}.messages m
      WHERE m.source = $1) + $2 > $3`;
}

const arguments_ = 'text, integer, bigint, text[], text[], text[], json, bigint[], text';

/**
 * Schema version 3: the publish of a batch as two schema functions, which return NULL,
 * having changed nothing, when the cheap bound says the queue may be near full.
 * `enqueue` returns true otherwise; `enqueue_deduped` ($10 says which rows to check
 * against the window $11) returns the checked ids it stored: an id inserted into
 * `dedupe`, or taken over from an expired entry, is new; a live entry makes a duplicate.
 * As with the claim and the ack (hot-functions.ts), the server keeps their plans for the
 * session, where the statement they replace was parsed and planned on every publish
 * (about as much server time as the insert itself), and the pinned settings keep the
 * length bound on the index however stale the statistics. Additive: processes of
 * version 2 keep running their own statement.
 */
export function enqueueFunctions(s: string): string[] {
  return [
    `CREATE OR REPLACE FUNCTION ${s}.enqueue(${arguments_})
       RETURNS boolean LANGUAGE plpgsql VOLATILE ${pinned}
       AS $body$ #variable_conflict use_column
       BEGIN
         IF ${tooFullSql(s)} THEN RETURN NULL; END IF;
         ${insertSql(s, false)};
         IF FOUND THEN PERFORM pg_notify($9, $1); END IF;
         RETURN true;
       END $body$`,
    `CREATE OR REPLACE FUNCTION ${s}.enqueue_deduped(${arguments_}, boolean[], bigint)
       RETURNS text[] LANGUAGE plpgsql VOLATILE ${pinned}
       AS $body$ #variable_conflict use_column
       DECLARE fresh text[];
       BEGIN
         IF ${tooFullSql(s)} THEN RETURN NULL; END IF;
         WITH f AS (
           INSERT INTO ${s}.dedupe AS d (target, id, expires_at)
           SELECT $1, c.id, ${s}.now_ms() + $11
           FROM unnest($4, $10) AS c(id, checked) WHERE c.checked
           ON CONFLICT (target, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
             WHERE d.expires_at <= ${s}.now_ms()
           RETURNING d.id)
         SELECT coalesce(array_agg(f.id), '{}') INTO fresh FROM f;
         ${insertSql(s, true)};
         IF FOUND THEN PERFORM pg_notify($9, $1); END IF;
         RETURN fresh;
       END $body$`,
  ];
}

const statements = perSchema((s) => ({
  plain: `SELECT ${s}.enqueue($1, $2, $3, $4, $5, $6, $7, $8, $9) AS ok`,
  deduped: `SELECT ${s}.enqueue_deduped($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS fresh`,
}));

/** The column as an array, or null when every value is `empty` (see insertSql). */
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
 * whose cheap length bound leaves room for the whole batch. De-dupe, insert and NOTIFY run
 * in one schema function (see enqueueFunctions). Returns undefined, having changed
 * nothing, when the queue may be near full; the caller then takes the transaction that
 * counts exactly.
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
    textArray(sent.map((r) => r.id)),
    column(sent, (r) => r.key ?? null, null),
    column(sent, headersText, '{}'),
    JSON.stringify(sent.map((r) => r.body)),
    column(sent, (r) => r.delayMs, 0),
    ctx.channel,
  ];
  const { plain, deduped } = statements(s);
  if (checked !== undefined) values.push(checked, window);
  if (checked === undefined) {
    const { rows } = await ctx.pool.query<{ ok: boolean | null }>(plain, values);
    return rows[0]?.ok === true ? outcomes : undefined;
  }
  const { rows } = await ctx.pool.query<{ fresh: string[] | null }>(deduped, values);
  const stored = rows[0]?.fresh;
  if (stored === null || stored === undefined) return undefined;
  const fresh = new Set(stored);
  records.forEach((record, i) => {
    if (outcomes[i] === 'stored' && record.dedupe && !fresh.has(record.id)) {
      outcomes[i] = 'duplicate';
    }
  });
  return outcomes;
}
