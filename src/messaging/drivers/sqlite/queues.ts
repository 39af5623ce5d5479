import { randomInt } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { QueueFullError } from '../../../core/errors.js';
import type {
  ClaimRequest,
  DeadLetterRecord,
  Delivery,
  EnqueueOptions,
  EnqueueOutcome,
  OutgoingRecord,
  QueueStats,
  ReleaseOptions,
} from '../../driver.js';
import { queueWide } from '../../driver.js';
import { decodeHeaders, encodeHeaders } from './rows.js';

interface DeadRow {
  id: string;
  key: string | null;
  headers: string | null;
  body: string;
  attempt: number;
  published_at: number;
  failed_at: number;
  error: string;
}

const readyFilter = 'address = @address AND available_at <= @now';
// The oldest unfinished message of a key holds back every later one of the same key.
const headOfKey = `(key IS NULL OR NOT EXISTS (SELECT 1 FROM sluice_messages p
  WHERE p.address = m.address AND p.key = m.key AND p.seq < m.seq))`;

const insertColumns = 7;
// Rows per multi-row INSERT: one statement for 32 rows costs a third less per row.
const insertChunk = 32;

/** seq, id, key, headers, body, attempt (before this claim), published_at */
type ClaimRow = [number, string, string | null, string | null, string, number, number];

/**
 * A claim reads the ready rows, then leases the same rows: inside the claim's write
 * transaction the two identical, totally ordered queries pick the same rows. A quarter
 * cheaper per message than one UPDATE ... RETURNING, which buffers every returned row.
 */
interface ClaimStatements {
  readonly select: Statement;
  readonly lease: Statement;
}

function prepareClaim(db: Database, readyRows: string): ClaimStatements {
  return {
    select: db
      .prepare(`SELECT seq, id, key, headers, body, attempt, published_at
        FROM sluice_messages m WHERE ${readyRows}`)
      .raw(),
    lease: db.prepare(`UPDATE sluice_messages
      SET lease = @lease, attempt = attempt + 1, available_at = @until
      WHERE seq IN (SELECT seq FROM sluice_messages m WHERE ${readyRows})`),
  };
}

/** The SQL behind queues and topic groups; every method runs inside the caller's transaction. */
export class SqliteQueues {
  readonly #insert: Statement;
  readonly #insertChunk: Statement;
  readonly #dedupe: Statement;
  readonly #stored: Statement;
  readonly #count: Statement;
  readonly #dropOldest: Statement;
  readonly #anyReady: Statement;
  readonly #nextDue: Statement;
  readonly #claim: ClaimStatements;
  readonly #claimOrdered: ClaimStatements;
  readonly #ack: Statement;
  readonly #ackMany: Statement;
  readonly #release: Statement;
  readonly #extend: Statement;
  readonly #toDead: Statement;
  readonly #delete: Statement;
  readonly #stats: Statement;
  readonly #deadCount: Statement;
  readonly #deadList: Statement;
  readonly #deadTrim: Statement;
  readonly #deadTake: Statement;
  readonly #deadTakeIds: Statement;
  readonly #groups: Statement;
  readonly #addGroup: Statement;
  readonly #purgeDedupe: Statement;

  constructor(db: Database) {
    const insertInto = `INSERT INTO sluice_messages
      (address, id, key, headers, body, published_at, available_at) VALUES `;
    const row = `(${new Array(insertColumns).fill('?').join(', ')})`;
    this.#insert = db.prepare(insertInto + row);
    this.#insertChunk = db.prepare(insertInto + new Array(insertChunk).fill(row).join(', '));
    this.#dedupe = db.prepare(`INSERT INTO sluice_dedupe (target, id, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (target, id) DO UPDATE SET expires_at = excluded.expires_at
      WHERE sluice_dedupe.expires_at <= ?`);
    this.#stored = db.prepare('SELECT stored FROM sluice_counts WHERE address = ?').pluck();
    this.#count = db.prepare(`INSERT INTO sluice_counts (address, stored) VALUES (?, ?)
      ON CONFLICT (address) DO UPDATE SET stored = stored + excluded.stored`);
    this.#dropOldest = db.prepare(`DELETE FROM sluice_messages WHERE seq IN (
      SELECT seq FROM sluice_messages WHERE address = ? AND NOT (lease != 0 AND available_at > ?)
      ORDER BY seq LIMIT ?)`);
    this.#anyReady = db
      .prepare(`SELECT 1 FROM sluice_messages WHERE ${readyFilter} LIMIT 1`)
      .pluck();
    this.#nextDue = db
      .prepare(
        'SELECT MIN(available_at) FROM sluice_messages WHERE address = ? AND available_at > ?',
      )
      .pluck();
    this.#claim = prepareClaim(db, `${readyFilter} ORDER BY available_at, seq LIMIT @max`);
    this.#claimOrdered = prepareClaim(
      db,
      `${readyFilter} AND ${headOfKey} ORDER BY available_at, seq LIMIT @max`,
    );
    this.#ack = db.prepare(
      'DELETE FROM sluice_messages WHERE seq = ? AND lease = ? AND address = ?',
    );
    // `+address`: look rows up by seq; on the address index it would scan the whole queue.
    this.#ackMany = db.prepare(`DELETE FROM sluice_messages
      WHERE seq IN (SELECT value FROM json_each(?)) AND lease = ? AND +address = ?`);
    this.#release = db.prepare(`UPDATE sluice_messages
      SET lease = 0, available_at = ?, attempt = attempt - ?, last_error = COALESCE(?, last_error)
      WHERE seq = ? AND lease = ? AND address = ?`);
    this.#extend = db.prepare(
      'UPDATE sluice_messages SET available_at = ? WHERE seq = ? AND lease = ? AND address = ?',
    );
    this.#toDead = db.prepare(`INSERT INTO sluice_dead
      (address, id, key, headers, body, published_at, attempt, failed_at, error)
      SELECT address, id, key, headers, body, published_at, attempt, ?, ?
      FROM sluice_messages WHERE seq = ? AND lease = ? AND address = ?`);
    this.#delete = db.prepare('DELETE FROM sluice_messages WHERE seq = ?');
    this.#stats = db.prepare(`SELECT
      COALESCE(SUM(available_at <= @now), 0) AS depth,
      COALESCE(SUM(lease != 0 AND available_at > @now), 0) AS inFlight,
      COALESCE(SUM(lease = 0 AND available_at > @now), 0) AS delayed,
      MIN(published_at) AS oldest
      FROM sluice_messages WHERE address = @address`);
    this.#deadCount = db.prepare('SELECT COUNT(*) FROM sluice_dead WHERE address = ?').pluck();
    this.#deadTrim = db.prepare(`DELETE FROM sluice_dead WHERE address = ? AND seq <= (
      SELECT seq FROM sluice_dead WHERE address = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`);
    this.#deadList = db.prepare('SELECT * FROM sluice_dead WHERE address = ? ORDER BY seq LIMIT ?');
    this.#deadTake = db.prepare('DELETE FROM sluice_dead WHERE address = ? RETURNING *');
    this.#deadTakeIds = db.prepare(
      'DELETE FROM sluice_dead WHERE address = ? AND id IN (SELECT value FROM json_each(?)) RETURNING *',
    );
    this.#groups = db.prepare('SELECT grp FROM sluice_groups WHERE topic = ?').pluck();
    this.#addGroup = db.prepare(
      'INSERT OR IGNORE INTO sluice_groups (topic, grp, created_at) VALUES (?, ?, ?)',
    );
    this.#purgeDedupe = db.prepare(`DELETE FROM sluice_dedupe WHERE (target, id) IN (
      SELECT target, id FROM sluice_dedupe WHERE expires_at <= ? LIMIT 1000)`);
  }

  groupAddresses(topic: string): string[] {
    return (this.#groups.all(topic) as string[]).map((group) => subscriptionAddress(topic, group));
  }

  addGroup(topic: string, group: string, now: number): void {
    this.#addGroup.run(topic, group, now);
  }

  enqueue(
    dedupeTarget: string,
    addresses: readonly string[],
    records: readonly OutgoingRecord[],
    options: EnqueueOptions,
    now: number,
  ): EnqueueOutcome[] {
    const outcomes: EnqueueOutcome[] = new Array(records.length);
    const fresh: OutgoingRecord[] = [];
    const expiresAt = now + options.dedupeWindowMs;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const duplicate =
        r.dedupe && this.#dedupe.run(dedupeTarget, r.id, expiresAt, now).changes === 0;
      outcomes[i] = duplicate ? 'duplicate' : 'stored';
      if (!duplicate) fresh.push(r);
    }
    if (fresh.length === 0) return outcomes;
    for (const address of addresses) {
      this.#makeRoom(address, fresh.length, options, now);
      this.#insertRows(address, fresh, now);
      this.#count.run(address, fresh.length);
    }
    return outcomes;
  }

  hasReady(address: string, now: number): boolean {
    return this.#anyReady.get({ address, now }) !== undefined;
  }

  nextDue(address: string, now: number): number | undefined {
    return (this.#nextDue.get(address, now) as number | null) ?? undefined;
  }

  claim(address: string, request: ClaimRequest, now: number): Delivery[] {
    const lease = randomInt(1, 2 ** 47);
    const statements = request.orderByKey ? this.#claimOrdered : this.#claim;
    const params = { address, now, lease, until: now + request.leaseMs, max: request.max };
    const rows = statements.select.all(params) as ClaimRow[];
    if (rows.length === 0) return [];
    statements.lease.run(params);
    rows.sort((a, b) => a[0] - b[0]);
    const deliveries: Delivery[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [seq, id, key, headers, body, attempt, publishedAt] = rows[i]!;
      deliveries[i] = {
        receipt: `${seq}:${lease}`,
        id,
        key: key ?? undefined,
        headers: decodeHeaders(headers),
        body,
        attempt: attempt + 1,
        publishedAt,
      };
    }
    return deliveries;
  }

  ack(address: string, receipts: readonly string[]): number {
    let removed = 0;
    if (receipts.length === 1) {
      const [seq, lease] = parseReceipt(receipts[0]!);
      removed = this.#ack.run(seq, lease, address).changes;
    } else {
      // One claim's receipts share its lease: one statement per lease, not per message.
      const byLease = new Map<number, number[]>();
      for (const receipt of receipts) {
        const [seq, lease] = parseReceipt(receipt);
        const seqs = byLease.get(lease);
        if (seqs === undefined) byLease.set(lease, [seq]);
        else seqs.push(seq);
      }
      for (const [lease, seqs] of byLease) {
        removed += this.#ackMany.run(JSON.stringify(seqs), lease, address).changes;
      }
    }
    if (removed > 0) this.#count.run(address, -removed);
    return removed;
  }

  release(address: string, receipt: string, options: ReleaseOptions, now: number): boolean {
    const [seq, lease] = parseReceipt(receipt);
    const uncount = options.countAttempt ? 0 : 1;
    return (
      this.#release.run(now + options.delayMs, uncount, options.error ?? null, seq, lease, address)
        .changes > 0
    );
  }

  extend(address: string, receipts: readonly string[], until: number): string[] {
    const lost: string[] = [];
    for (const receipt of receipts) {
      const [seq, lease] = parseReceipt(receipt);
      if (this.#extend.run(until, seq, lease, address).changes === 0) lost.push(receipt);
    }
    return lost;
  }

  /**
   * Moves a leased message to the dead letters; returns how many of the oldest dead letters
   * it dropped to stay within `maxDead` (-1 when the lease was lost and nothing moved).
   */
  deadLetter(
    address: string,
    receipt: string,
    error: string,
    now: number,
    maxDead: number,
  ): number {
    const [seq, lease] = parseReceipt(receipt);
    if (this.#toDead.run(now, error, seq, lease, address).changes === 0) return -1;
    this.#delete.run(seq);
    this.#count.run(address, -1);
    // Walks at most maxDead index entries: a bound on the cost as on the size.
    return this.#deadTrim.run(address, address, maxDead).changes;
  }

  stats(address: string, now: number): QueueStats {
    const row = this.#stats.get({ address, now }) as {
      depth: number;
      inFlight: number;
      delayed: number;
      oldest: number | null;
    };
    return {
      depth: row.depth,
      inFlight: row.inFlight,
      delayed: row.delayed,
      oldestAgeMs: row.oldest === null ? 0 : Math.max(0, now - row.oldest),
      deadLettered: this.#deadCount.get(address) as number,
      scope: queueWide,
    };
  }

  listDead(address: string, limit: number): DeadLetterRecord[] {
    return (this.#deadList.all(address, limit) as DeadRow[]).map(toDeadRecord);
  }

  takeDead(address: string, ids: readonly string[] | undefined): DeadLetterRecord[] {
    const rows = (
      ids === undefined
        ? this.#deadTake.all(address)
        : this.#deadTakeIds.all(address, JSON.stringify(ids))
    ) as DeadRow[];
    return rows.map(toDeadRecord);
  }

  /** Puts dead letters back as fresh messages, keeping their id and publish time. */
  restore(address: string, dead: readonly DeadLetterRecord[], now: number): void {
    for (const d of dead) {
      this.#insert.run(
        address,
        d.id,
        d.key ?? null,
        encodeHeaders(d.headers),
        d.body,
        d.publishedAt,
        now,
      );
    }
    if (dead.length > 0) this.#count.run(address, dead.length);
  }

  purgeExpiredDedupe(now: number): void {
    this.#purgeDedupe.run(now);
  }

  #insertRows(address: string, records: readonly OutgoingRecord[], now: number): void {
    let i = 0;
    if (records.length >= insertChunk) {
      const params: unknown[] = new Array(insertChunk * insertColumns);
      for (; i + insertChunk <= records.length; i += insertChunk) {
        for (let j = 0; j < insertChunk; j++) {
          const r = records[i + j]!;
          const at = j * insertColumns;
          params[at] = address;
          params[at + 1] = r.id;
          params[at + 2] = r.key ?? null;
          params[at + 3] = encodeHeaders(r.headers);
          params[at + 4] = r.body;
          params[at + 5] = now;
          params[at + 6] = now + r.delayMs;
        }
        this.#insertChunk.run(params);
      }
    }
    for (; i < records.length; i++) {
      const r = records[i]!;
      this.#insert.run(
        address,
        r.id,
        r.key ?? null,
        encodeHeaders(r.headers),
        r.body,
        now,
        now + r.delayMs,
      );
    }
  }

  #makeRoom(address: string, incoming: number, options: EnqueueOptions, now: number): void {
    const stored = (this.#stored.get(address) as number | undefined) ?? 0;
    const excess = stored + incoming - options.maxLength;
    if (excess <= 0) return;
    if (options.overflow === 'reject' || incoming > options.maxLength) {
      throw new QueueFullError(`queue holds ${stored} of at most ${options.maxLength} messages`);
    }
    const dropped = this.#dropOldest.run(address, now, excess).changes;
    this.#count.run(address, -dropped);
    if (dropped < excess) throw new QueueFullError('queue is full of messages in flight');
  }
}

export function queueAddress(queue: string): string {
  return `q:${queue}`;
}

export function subscriptionAddress(topic: string, group: string): string {
  return `s:${topic}/${group}`;
}

function parseReceipt(receipt: string): [number, number] {
  const colon = receipt.indexOf(':');
  return [Number(receipt.slice(0, colon)), Number(receipt.slice(colon + 1))];
}

function toDeadRecord(row: DeadRow): DeadLetterRecord {
  return {
    id: row.id,
    key: row.key ?? undefined,
    headers: decodeHeaders(row.headers),
    body: row.body,
    attempt: row.attempt,
    publishedAt: row.published_at,
    failedAt: row.failed_at,
    error: row.error,
  };
}
