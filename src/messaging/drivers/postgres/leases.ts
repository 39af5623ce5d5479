import type {
  ClaimRequest,
  ClaimResult,
  Delivery,
  QueueStats,
  ReleaseOptions,
} from '../../driver.js';
import { queueWide } from '../../driver.js';
import { bigintArray, type PgContext, parseHeaders, receiptOf, splitReceipts } from './context.js';
import { perSchema } from './statements.js';

/**
 * A row of `claim_batch`: a delivery, or (with no receipt) the last row of a claim that
 * found fewer than asked, whose `published_at` says when the next message falls due.
 */
interface ClaimedRow {
  receipt: string | null;
  id: string;
  key: string | null;
  headers: string;
  body: string;
  attempt: number;
  published_at: string | null;
}

/**
 * The claim: the due rows of a source in (due_at, seq) order, read from the
 * `messages_claim` index, locked with SKIP LOCKED so competing consumers never wait on
 * each other, and leased in the same statement. With `orderByKey` a keyed row qualifies
 * only while it is the oldest of its key, so a key's later messages wait for the head.
 */
export function claimUpdateSql(s: string, orderByKey: boolean): string {
  const keyed = orderByKey
    ? `AND (m.key IS NULL OR m.seq = (
         SELECT min(k.seq) FROM ${s}.messages k WHERE k.source = $1 AND k.key = m.key))`
    : '';
  return `WITH picked AS (
      SELECT m.seq FROM ${s}.messages m
      WHERE m.source = $1 AND m.due_at <= ${s}.now_ms() ${keyed}
      ORDER BY m.due_at, m.seq
      LIMIT $2
      FOR UPDATE SKIP LOCKED)
    UPDATE ${s}.messages m
    SET due_at = ${s}.now_ms() + $3, lease_until = ${s}.now_ms() + $3,
        lease_token = nextval('${s}.lease_tokens'), attempt = m.attempt + 1
    FROM picked
    WHERE m.source = $1 AND m.seq = picked.seq
    RETURNING m.seq, m.lease_token, m.id, m.key, m.headers, m.body, m.attempt, m.published_at`;
}

/**
 * The claim of schema version 2 (the `claim` functions, still run by processes of
 * versions 2 and 3): each row also carries `next_due`, when the next message after this
 * claim becomes due, looked up whether or not the claim found all it asked for.
 */
export function claimSql(s: string, orderByKey: boolean): string {
  return `${claimUpdateSql(s, orderByKey)},
      least(${nextDueSql(s)}, ${s}.now_ms() + $3) AS next_due`;
}

/** The statement snapshot's earliest future due time: rows claimed by it are not in it. */
export function nextDueSql(s: string): string {
  return `(SELECT min(d.due_at) FROM ${s}.messages d WHERE d.source = $1 AND d.due_at > ${s}.now_ms())`;
}

/** Deletes the acked rows whose lease is still the receipt's, returning their keys. */
export function ackDeleteSql(s: string): string {
  return `DELETE FROM ${s}.messages m
    USING unnest($2::bigint[], $3::bigint[]) AS r(seq, token)
    WHERE m.source = $1 AND m.seq = r.seq AND m.lease_token = r.token
    RETURNING m.key`;
}

/** The claim and the ack run as the schema's functions (hot-functions.ts), built from the texts above. */
const statements = perSchema((s) => ({
  claim: `SELECT * FROM ${s}.claim_batch($1, $2, $3, $4)`,
  ack: `SELECT ${s}.ack($1, $2, $3, $4)`,
  extend: `UPDATE ${s}.messages m
     SET due_at = ${s}.now_ms() + $4, lease_until = ${s}.now_ms() + $4
     FROM unnest($2::bigint[], $3::bigint[]) AS r(seq, token)
     WHERE m.source = $1 AND m.seq = r.seq AND m.lease_token = r.token
     RETURNING m.seq, m.lease_token`,
}));

export async function claim(
  ctx: PgContext,
  source: string,
  request: ClaimRequest,
): Promise<ClaimResult> {
  const { rows } = await ctx.pool.query<ClaimedRow>(statements(ctx.s).claim, [
    source,
    request.max,
    request.leaseMs,
    request.orderByKey,
  ]);
  const deliveries: Delivery[] = [];
  let short = false;
  let nextDueAt: number | undefined;
  for (const r of rows) {
    if (r.receipt === null) {
      short = true;
      nextDueAt = r.published_at === null ? undefined : Number(r.published_at);
      continue;
    }
    deliveries.push({
      receipt: r.receipt,
      id: r.id,
      key: r.key ?? undefined,
      headers: parseHeaders(r.headers),
      body: r.body,
      attempt: r.attempt,
      publishedAt: Number(r.published_at),
    });
  }
  return short ? { deliveries, nextDueAt } : { deliveries };
}

export async function ack(
  ctx: PgContext,
  source: string,
  receipts: readonly string[],
): Promise<void> {
  const { seqs, tokens } = splitReceipts(receipts);
  if (seqs.length === 0) return;
  // Completing a keyed message unblocks the next one of its key: wake the consumers.
  await ctx.pool.query(statements(ctx.s).ack, [
    source,
    bigintArray(seqs),
    bigintArray(tokens),
    ctx.channel,
  ]);
}

export async function release(
  ctx: PgContext,
  source: string,
  receipt: string,
  options: ReleaseOptions,
): Promise<void> {
  const { seqs, tokens } = splitReceipts([receipt]);
  if (seqs.length === 0) return;
  const { s } = ctx;
  await ctx.pool.query(
    `WITH freed AS (
       UPDATE ${s}.messages
       SET due_at = ${s}.now_ms() + $4, lease_until = NULL, lease_token = NULL,
           attempt = attempt - $5, last_error = coalesce($6, last_error)
       WHERE source = $1 AND seq = $2 AND lease_token = $3
       RETURNING 1)
     SELECT pg_notify($7, $1) FROM freed WHERE $4 = 0`,
    [
      source,
      seqs[0],
      tokens[0],
      options.delayMs,
      options.countAttempt ? 0 : 1,
      options.error ?? null,
      ctx.channel,
    ],
  );
}

export async function extendLease(
  ctx: PgContext,
  source: string,
  receipts: readonly string[],
  leaseMs: number,
): Promise<string[]> {
  const { seqs, tokens } = splitReceipts(receipts);
  const { rows } =
    seqs.length === 0
      ? { rows: [] }
      : await ctx.pool.query<{ seq: string; lease_token: string }>(statements(ctx.s).extend, [
          source,
          bigintArray(seqs),
          bigintArray(tokens),
          leaseMs,
        ]);
  const kept = new Set(rows.map((r) => receiptOf(r.seq, r.lease_token)));
  return receipts.filter((r) => !kept.has(r));
}

export async function deadLetter(
  ctx: PgContext,
  source: string,
  receipt: string,
  error: string,
): Promise<void> {
  const { seqs, tokens } = splitReceipts([receipt]);
  if (seqs.length === 0) return;
  const { s } = ctx;
  await ctx.pool.query(
    `WITH moved AS (
       DELETE FROM ${s}.messages WHERE source = $1 AND seq = $2 AND lease_token = $3
       RETURNING source, id, key, headers, body, attempt, published_at)
     INSERT INTO ${s}.dead_letters (source, id, key, headers, body, attempt, published_at, failed_at, error)
     SELECT source, id, key, headers, body, attempt, published_at, ${s}.now_ms(), $4 FROM moved`,
    [source, seqs[0], tokens[0], error],
  );
}

export async function stats(ctx: PgContext, source: string): Promise<QueueStats> {
  const { s } = ctx;
  const { rows } = await ctx.pool.query<{
    depth: string;
    in_flight: string;
    delayed: string;
    oldest: string | null;
    now: string;
    dead: string;
  }>(
    `SELECT count(*) FILTER (WHERE due_at <= ${s}.now_ms()) AS depth,
            count(*) FILTER (WHERE due_at > ${s}.now_ms() AND lease_token IS NOT NULL) AS in_flight,
            count(*) FILTER (WHERE due_at > ${s}.now_ms() AND lease_token IS NULL) AS delayed,
            min(published_at) AS oldest,
            ${s}.now_ms() AS now,
            (SELECT count(*) FROM ${s}.dead_letters WHERE source = $1) AS dead
     FROM ${s}.messages WHERE source = $1`,
    [source],
  );
  const r = rows[0]!;
  return {
    depth: Number(r.depth),
    inFlight: Number(r.in_flight),
    delayed: Number(r.delayed),
    oldestAgeMs: r.oldest === null ? 0 : Math.max(0, Number(r.now) - Number(r.oldest)),
    deadLettered: Number(r.dead),
    scope: queueWide,
  };
}
