import type { Database } from 'better-sqlite3';

/**
 * Spans, logs and metric samples, each table pruned from its oldest rows. A span is kept
 * whole as JSON beside the columns searches use; its links get a table of their own so a
 * trace finds the traces it is linked to in both directions.
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
    CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id);
    CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ms);
    CREATE INDEX IF NOT EXISTS spans_service ON spans (service, start_ms);
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
