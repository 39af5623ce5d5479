import type { Database, Statement } from 'better-sqlite3';
import {
  type Retention,
  retainedBytes,
  type StreamEntryRecord,
  type StreamPosition,
  type StreamRecord,
} from '../../driver.js';
import { decodeHeaders, encodeHeaders } from './rows.js';

interface EntryRow {
  pos: number;
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  published_at: number;
}

/** The SQL behind streams: entries keyed by (stream, pos), a head row per stream, group offsets. */
export class SqliteStreams {
  readonly #head: Statement;
  readonly #setHead: Statement;
  readonly #insert: Statement;
  readonly #read: Statement;
  readonly #first: Statement;
  readonly #atTime: Statement;
  readonly #sizeBefore: Statement;
  readonly #deleteBefore: Statement;
  readonly #firstAfterTime: Statement;
  readonly #oldest: Statement;
  readonly #commit: Statement;
  readonly #committed: Statement;

  constructor(db: Database) {
    this.#head = db.prepare('SELECT next_pos AS next, bytes FROM sluice_streams WHERE stream = ?');
    this.#setHead =
      db.prepare(`INSERT INTO sluice_streams (stream, next_pos, bytes) VALUES (?, ?, ?)
      ON CONFLICT (stream) DO UPDATE SET next_pos = excluded.next_pos, bytes = excluded.bytes`);
    this.#insert = db.prepare(`INSERT INTO sluice_stream_entries
      (stream, pos, id, key, headers, body, published_at, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#read =
      db.prepare(`SELECT pos, id, key, headers, body, published_at FROM sluice_stream_entries
      WHERE stream = ? AND pos >= ? ORDER BY pos LIMIT ?`);
    this.#first = db.prepare('SELECT MIN(pos) FROM sluice_stream_entries WHERE stream = ?').pluck();
    this.#atTime = db
      .prepare('SELECT MIN(pos) FROM sluice_stream_entries WHERE stream = ? AND published_at >= ?')
      .pluck();
    this.#sizeBefore = db
      .prepare(
        'SELECT COALESCE(SUM(size), 0) FROM sluice_stream_entries WHERE stream = ? AND pos < ?',
      )
      .pluck();
    this.#deleteBefore = db.prepare(
      'DELETE FROM sluice_stream_entries WHERE stream = ? AND pos < ?',
    );
    this.#firstAfterTime = this.#atTime;
    this.#oldest = db.prepare(
      'SELECT pos, size FROM sluice_stream_entries WHERE stream = ? AND pos >= ? ORDER BY pos LIMIT 256',
    );
    this.#commit = db.prepare(`INSERT INTO sluice_offsets (stream, grp, next_pos) VALUES (?, ?, ?)
      ON CONFLICT (stream, grp) DO UPDATE SET next_pos = excluded.next_pos`);
    this.#committed = db
      .prepare('SELECT next_pos FROM sluice_offsets WHERE stream = ? AND grp = ?')
      .pluck();
  }

  append(
    stream: string,
    records: readonly StreamRecord[],
    retention: Retention,
    now: number,
  ): number[] {
    const head = (this.#head.get(stream) as { next: number; bytes: number } | undefined) ?? {
      next: 0,
      bytes: 0,
    };
    let { next, bytes } = head;
    const offsets: number[] = [];
    for (const r of records) {
      const size = retainedBytes(r);
      this.#insert.run(
        stream,
        next,
        r.id,
        r.key ?? null,
        encodeHeaders(r.headers),
        r.body,
        now,
        size,
      );
      offsets.push(next++);
      bytes += size;
    }
    bytes -= this.#trim(stream, retention, next, bytes, now);
    this.#setHead.run(stream, next, bytes);
    return offsets;
  }

  read(stream: string, from: number, limit: number): StreamEntryRecord[] {
    return (this.#read.all(stream, from, limit) as EntryRow[]).map((row) => ({
      offset: row.pos,
      id: row.id,
      key: row.key ?? undefined,
      headers: decodeHeaders(row.headers),
      body: row.body,
      publishedAt: row.published_at,
    }));
  }

  resolve(stream: string, position: StreamPosition): number {
    const next = (this.#head.get(stream) as { next: number } | undefined)?.next ?? 0;
    if (position === 'latest') return next;
    const found =
      position === 'earliest' ? this.#first.get(stream) : this.#atTime.get(stream, position.time);
    return (found as number | null) ?? next;
  }

  commit(stream: string, group: string, offset: number): void {
    this.#commit.run(stream, group, offset);
  }

  committed(stream: string, group: string): number | undefined {
    return this.#committed.get(stream, group) as number | undefined;
  }

  /** Deletes what retention no longer keeps; returns the bytes freed. */
  #trim(stream: string, retention: Retention, next: number, bytes: number, now: number): number {
    let cut = 0;
    if (retention.maxCount !== undefined) cut = Math.max(cut, next - retention.maxCount);
    if (retention.maxAgeMs !== undefined) {
      const kept = this.#firstAfterTime.get(stream, now - retention.maxAgeMs) as number | null;
      cut = Math.max(cut, kept ?? next);
    }
    let freed = cut > 0 ? (this.#sizeBefore.get(stream, cut) as number) : 0;
    if (retention.maxBytes !== undefined) {
      while (bytes - freed > retention.maxBytes) {
        const rows = this.#oldest.all(stream, cut) as { pos: number; size: number }[];
        if (rows.length === 0) break;
        for (const row of rows) {
          if (bytes - freed <= retention.maxBytes) break;
          freed += row.size;
          cut = row.pos + 1;
        }
      }
    }
    if (cut > 0) this.#deleteBefore.run(stream, cut);
    return freed;
  }
}
