import type { DeadLetterRecord } from '../../driver.js';
import { type PgContext, parseHeaders } from './context.js';

interface DeadRow {
  id: string;
  key: string | null;
  headers: string;
  body: string;
  attempt: number;
  published_at: string;
  failed_at: string;
  error: string;
}

export async function listDeadLetters(
  ctx: PgContext,
  source: string,
  limit: number,
): Promise<DeadLetterRecord[]> {
  const { rows } = await ctx.pool.query<DeadRow>(
    `SELECT id, key, headers, body, attempt, published_at, failed_at, error
     FROM ${ctx.s}.dead_letters WHERE source = $1 ORDER BY dseq LIMIT $2`,
    [source, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    key: r.key ?? undefined,
    headers: parseHeaders(r.headers),
    body: r.body,
    attempt: r.attempt,
    publishedAt: Number(r.published_at),
    failedAt: Number(r.failed_at),
    error: r.error,
  }));
}

/** Moves dead letters back as fresh messages (attempt 0, due now) in one statement. */
export async function replayDeadLetters(
  ctx: PgContext,
  source: string,
  ids: readonly string[] | undefined,
): Promise<number> {
  const { s } = ctx;
  const { rows } = await ctx.pool.query<{ n: string }>(
    `WITH moved AS (
       DELETE FROM ${s}.dead_letters
       WHERE source = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))
       RETURNING dseq, source, id, key, headers, body, published_at),
     stored AS (
       INSERT INTO ${s}.messages (source, id, key, headers, body, published_at, due_at)
       SELECT source, id, key, headers, body, published_at, ${s}.now_ms() FROM moved ORDER BY dseq
       RETURNING 1),
     counted AS (SELECT count(*) AS n FROM stored)
     SELECT n, CASE WHEN n > 0 THEN pg_notify($3, $1) END FROM counted`,
    [source, ids === undefined ? null : [...ids], ctx.channel],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function purgeDeadLetters(
  ctx: PgContext,
  source: string,
  ids: readonly string[] | undefined,
): Promise<number> {
  const result = await ctx.pool.query(
    `DELETE FROM ${ctx.s}.dead_letters
     WHERE source = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))`,
    [source, ids === undefined ? null : [...ids]],
  );
  return result.rowCount ?? 0;
}
