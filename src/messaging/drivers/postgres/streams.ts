import type { PoolClient } from 'pg';
import {
  type Retention,
  retainedBytes,
  type StreamEntryRecord,
  type StreamPosition,
  type StreamRecord,
} from '../../driver.js';
import { type PgContext, parseHeaders, streamKey, transaction } from './context.js';

interface EntryRow {
  offset: string;
  id: string;
  key: string | null;
  headers: string;
  body: string;
  published_at: string;
}

/**
 * Appends under the stream row's lock, which hands out contiguous offsets; retention runs
 * in the same transaction, so readers never see a log over its limits for long.
 */
export function append(
  ctx: PgContext,
  stream: string,
  records: readonly StreamRecord[],
  retention: Retention,
): Promise<number[]> {
  if (records.length === 0) return Promise.resolve([]);
  const { s } = ctx;
  const sizes = records.map(retainedBytes);
  const added = sizes.reduce((a, b) => a + b, 0);
  return transaction(ctx, async (client) => {
    const head = await client.query<{ next_offset: string; bytes: string }>(
      `INSERT INTO ${s}.streams AS t (name, next_offset, bytes) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE
         SET next_offset = t.next_offset + EXCLUDED.next_offset, bytes = t.bytes + EXCLUDED.bytes
       RETURNING next_offset, bytes`,
      [stream, records.length, added],
    );
    const next = Number(head.rows[0]!.next_offset);
    const first = next - records.length;
    await client.query(
      `INSERT INTO ${s}.stream_entries (stream, "offset", id, key, headers, body, published_at, bytes)
       SELECT $1, $2::bigint + r.n - 1, r.id, r.key, r.headers, r.body, ${s}.now_ms(), r.bytes
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[])
         WITH ORDINALITY AS r(id, key, headers, body, bytes, n)`,
      [
        stream,
        first,
        records.map((r) => r.id),
        records.map((r) => r.key ?? null),
        records.map((r) => JSON.stringify(r.headers)),
        records.map((r) => r.body),
        sizes,
      ],
    );
    await trim(ctx, client, stream, next, Number(head.rows[0]!.bytes), retention);
    await client.query('SELECT pg_notify($1, $2)', [ctx.channel, streamKey(stream)]);
    return records.map((_, i) => first + i);
  });
}

async function trim(
  ctx: PgContext,
  client: PoolClient,
  stream: string,
  next: number,
  bytes: number,
  retention: Retention,
): Promise<void> {
  const { s } = ctx;
  const cuts: string[] = [];
  const params: unknown[] = [stream];
  if (retention.maxCount !== undefined) {
    params.push(next - retention.maxCount);
    cuts.push(`"offset" < $${params.length}`);
  }
  if (retention.maxAgeMs !== undefined) {
    params.push(retention.maxAgeMs);
    cuts.push(`published_at < ${s}.now_ms() - $${params.length}`);
  }
  if (retention.maxBytes !== undefined && bytes > retention.maxBytes) {
    // The newest entries that fit in maxBytes stay; everything at or below the cut goes.
    params.push(retention.maxBytes);
    cuts.push(`"offset" <= coalesce((
      SELECT "offset" FROM (
        SELECT "offset", sum(bytes) OVER (ORDER BY "offset" DESC) AS tail
        FROM ${s}.stream_entries WHERE stream = $1) t
      WHERE tail > $${params.length} ORDER BY "offset" DESC LIMIT 1), -1)`);
  }
  if (cuts.length === 0) return;
  await client.query(
    `WITH gone AS (
       DELETE FROM ${s}.stream_entries WHERE stream = $1 AND (${cuts.join(' OR ')})
       RETURNING bytes)
     UPDATE ${s}.streams SET bytes = bytes - (SELECT coalesce(sum(bytes), 0) FROM gone)
     WHERE name = $1`,
    params,
  );
}

export async function read(
  ctx: PgContext,
  stream: string,
  fromOffset: number,
  limit: number,
): Promise<StreamEntryRecord[]> {
  const { rows } = await ctx.pool.query<EntryRow>(
    `SELECT "offset", id, key, headers, body, published_at FROM ${ctx.s}.stream_entries
     WHERE stream = $1 AND "offset" >= $2 ORDER BY "offset" LIMIT $3`,
    [stream, fromOffset, limit],
  );
  return rows.map((r) => ({
    offset: Number(r.offset),
    id: r.id,
    key: r.key ?? undefined,
    headers: parseHeaders(r.headers),
    body: r.body,
    publishedAt: Number(r.published_at),
  }));
}

export async function resolvePosition(
  ctx: PgContext,
  stream: string,
  position: StreamPosition,
): Promise<number> {
  const { s } = ctx;
  const latest = `(SELECT next_offset FROM ${s}.streams WHERE name = $1)`;
  let sql: string;
  const params: unknown[] = [stream];
  if (position === 'latest') sql = `SELECT coalesce(${latest}, 0) AS o`;
  else if (position === 'earliest') {
    sql = `SELECT coalesce((SELECT min("offset") FROM ${s}.stream_entries WHERE stream = $1), ${latest}, 0) AS o`;
  } else {
    params.push(position.time);
    sql = `SELECT coalesce((SELECT min("offset") FROM ${s}.stream_entries
             WHERE stream = $1 AND published_at >= $2), ${latest}, 0) AS o`;
  }
  const { rows } = await ctx.pool.query<{ o: string }>(sql, params);
  return Number(rows[0]!.o);
}

export async function commitOffset(
  ctx: PgContext,
  stream: string,
  group: string,
  offset: number,
): Promise<void> {
  const { s } = ctx;
  await ctx.pool.query(
    `INSERT INTO ${s}.stream_offsets (stream, grp, next_offset) VALUES ($1, $2, $3)
     ON CONFLICT (stream, grp) DO UPDATE SET next_offset = EXCLUDED.next_offset`,
    [stream, group, offset],
  );
}

export async function committedOffset(
  ctx: PgContext,
  stream: string,
  group: string,
): Promise<number | undefined> {
  const { rows } = await ctx.pool.query<{ next_offset: string }>(
    `SELECT next_offset FROM ${ctx.s}.stream_offsets WHERE stream = $1 AND grp = $2`,
    [stream, group],
  );
  return rows[0] === undefined ? undefined : Number(rows[0].next_offset);
}
