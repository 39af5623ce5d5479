import type { Pool, PoolClient } from 'pg';
import type { Source, Target } from '../../driver.js';

/** What the statement modules share: the pool, the quoted schema and the NOTIFY channel. */
export interface PgContext {
  readonly pool: Pool;
  /** The schema, quoted for use in SQL text. */
  readonly s: string;
  readonly channel: string;
}

/** The `source` column of a queue's rows, or of one group's share of a topic. */
export function sourceKey(source: Source): string {
  return source.kind === 'queue' ? `q:${source.queue}` : `s:${source.topic}/${source.group}`;
}

/** The key producer ids are de-duplicated under: one per queue, one per topic. */
export function targetKey(target: Target): string {
  return target.kind === 'queue' ? `q:${target.queue}` : `t:${target.topic}`;
}

export function streamKey(stream: string): string {
  return `x:${stream}`;
}

/** Runs `work` in a transaction on one pooled connection. */
export async function transaction<R>(
  ctx: PgContext,
  work: (client: PoolClient) => Promise<R>,
): Promise<R> {
  return inTransaction(ctx.pool, work);
}

const ignore = (): void => {};

/**
 * BEGIN, `work`, COMMIT on one connection from `pool`; ROLLBACK on failure. A connection
 * the server drops while checked out emits 'error' on the client, which would crash the
 * process unheard: the failed query already reports it, so the event is only absorbed.
 */
export async function inTransaction<R>(
  pool: Pool,
  work: (client: PoolClient) => Promise<R>,
): Promise<R> {
  const client = await pool.connect();
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    throw error;
  } finally {
    client.off('error', ignore);
    // A connection that cannot even roll back is not given to anyone else.
    client.release(broken);
  }
}

export function parseHeaders(text: string): Record<string, string> {
  return text === '{}' ? {} : (JSON.parse(text) as Record<string, string>);
}

/** The receipt of one lease: the row and the token only that lease holds. */
export function receiptOf(seq: string, token: string): string {
  return `${seq}:${token}`;
}

/** The rows and tokens of well-formed receipts; anything else names no lease and is skipped. */
export function splitReceipts(receipts: readonly string[]): { seqs: string[]; tokens: string[] } {
  const seqs: string[] = [];
  const tokens: string[] = [];
  for (const receipt of receipts) {
    const colon = receipt.indexOf(':');
    if (!digitsOnly(receipt, 0, colon) || !digitsOnly(receipt, colon + 1, receipt.length)) continue;
    seqs.push(receipt.slice(0, colon));
    tokens.push(receipt.slice(colon + 1));
  }
  return { seqs, tokens };
}

/**
 * The bigint[] literal of digit strings that splitReceipts let through: pg's own array
 * encoding runs two regular expressions over every element to escape what these never hold.
 */
export function bigintArray(digits: readonly string[]): string {
  return `{${digits.join(',')}}`;
}

/**
 * A text[] literal with every element quoted, escaping only the rare one that holds a quote
 * or a backslash: pg's own encoding runs two regular expressions over every element.
 */
export function textArray(values: readonly string[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i > 0) literal += ',';
    literal +=
      value.includes('"') || value.includes('\\')
        ? `"${value.replace(/[\\"]/g, '\\$&')}"`
        : `"${value}"`;
  }
  return `${literal}}`;
}

const maxBigint = '9223372036854775807';

/**
 * Whether text[from, to) is a non-negative bigint the server will accept: one out of range
 * would fail the whole statement, and with it the acks of the good receipts beside it.
 */
function digitsOnly(text: string, from: number, to: number): boolean {
  const length = to - from;
  if (length <= 0 || length > maxBigint.length) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return length < maxBigint.length || text.slice(from, to) <= maxBigint;
}
