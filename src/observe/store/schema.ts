import type { Database } from 'better-sqlite3';

/**
 * Spans, logs and metric samples, each table pruned from its oldest rows. A span is kept
 * whole as JSON beside the columns searches use; its links get a table of their own so a
 * trace finds the traces it is linked to in both directions.
 *
 * The traffic figures read a span's kind, its destination and the service of its parent
 * from columns filled at ingest (`parent_service` as soon as both spans are in), not from
 * the JSON: rows of an older file lack them, and the queries fall back to the JSON there.
 * The index on `start_ms` carries those columns too; `spans_alike` holds alike spans (same
 * service, kind, route, name, destination and parent service) together by time, so the
 * traffic figures read each group by a seek instead of sorting the window; the ones on
 * `(service, …)` hold what the per-service summary reads: the traffic of the last minutes, the candidates of a
 * trace search and the summary read no table row.
 */
export function createSchema(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS spans (
      id INTEGER PRIMARY KEY,
      trace_id TEXT NOT NULL,
      span_id TEXT NOT NULL,
      parent_span_id TEXT,
      service TEXT NOT NULL,
      name TEXT NOT NULL,
      start_ms REAL NOT NULL,
      duration_ms REAL NOT NULL,
      error INTEGER NOT NULL,
      route TEXT,
      attributes TEXT NOT NULL,
      record TEXT NOT NULL
    );
  `);
  addColumns(db, 'spans', ['kind TEXT', 'destination', 'parent_service TEXT']);
  db.exec(`
    CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id);
    DROP INDEX IF EXISTS spans_start;
    CREATE INDEX IF NOT EXISTS spans_traffic ON spans (start_ms, id, kind, service, route, name,
      duration_ms, error, destination, parent_service, trace_id);
    CREATE INDEX IF NOT EXISTS spans_alike ON spans (service, kind, route, name, destination,
      parent_service, start_ms, id, duration_ms, error);
    DROP INDEX IF EXISTS spans_service;
    CREATE INDEX IF NOT EXISTS spans_service_end ON spans (service, start_ms, duration_ms, error);
    CREATE TABLE IF NOT EXISTS span_links (
      span_row INTEGER NOT NULL,
      trace_id TEXT NOT NULL,
      linked_trace_id TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS span_links_trace ON span_links (trace_id);
    CREATE INDEX IF NOT EXISTS span_links_linked ON span_links (linked_trace_id);
    CREATE INDEX IF NOT EXISTS span_links_row ON span_links (span_row);
    CREATE TABLE IF NOT EXISTS logs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      time_ms REAL NOT NULL,
      service TEXT NOT NULL,
      instance INTEGER,
      level INTEGER NOT NULL,
      message TEXT NOT NULL,
      trace_id TEXT,
      span_id TEXT,
      attributes TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS logs_time ON logs (time_ms);
    CREATE INDEX IF NOT EXISTS logs_trace ON logs (trace_id);
    CREATE INDEX IF NOT EXISTS logs_service ON logs (service, id);
    CREATE INDEX IF NOT EXISTS logs_service_time ON logs (service, time_ms);
    CREATE TABLE IF NOT EXISTS series (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      labels TEXT NOT NULL,
      UNIQUE (name, labels)
    );
    CREATE TABLE IF NOT EXISTS samples (
      series_id INTEGER NOT NULL,
      time_ms REAL NOT NULL,
      value REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS samples_series ON samples (series_id, time_ms);
    CREATE INDEX IF NOT EXISTS samples_time ON samples (time_ms);
  `);
}

/** Columns added since a file was created, added to it (SQLite fills old rows with NULL). */
function addColumns(db: Database, table: string, columns: readonly string[]): void {
  const present = new Set(
    (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
  );
  for (const column of columns) {
    if (!present.has(column.split(' ')[0]!)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column}`);
  }
}
