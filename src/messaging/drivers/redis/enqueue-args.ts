import { QueueFullError } from '../../../core/errors.js';
import type { EnqueueOptions, EnqueueOutcome, OutgoingRecord, Target } from '../../driver.js';
import type { Lane } from '../group-commit.js';
import type { Keys } from './keys.js';
import { encodeHeaders, packMessage } from './records.js';

/** One publish's records, stored whole or not at all. */
export type Batch = readonly OutgoingRecord[];

/** What every call for one target (with the same limits) starts with: see lua-enqueue.ts. */
export interface EnqueueHead extends Lane {
  /** The key that routes the call. */
  readonly route: string;
  readonly args: readonly (string | number)[];
}

interface CachedHead extends EnqueueHead {
  readonly options: EnqueueOptions;
}

/** The heads of the targets published to, made once per target object and limits. */
export class EnqueueHeads {
  readonly #cache = new WeakMap<Target, CachedHead>();

  constructor(private readonly keys: Keys) {}

  of(target: Target, options: EnqueueOptions): EnqueueHead {
    const cached = this.#cache.get(target);
    if (cached !== undefined && sameLimits(cached.options, options)) return cached;
    const t = this.keys.target(target);
    const args = [
      t.dedupe,
      Math.ceil(options.dedupeWindowMs),
      options.maxLength,
      options.overflow,
      t.groups,
      t.base,
    ];
    const head = { route: t.route, args, lane: args.join('\u0000'), options };
    this.#cache.set(target, head);
    return head;
  }
}

function sameLimits(a: EnqueueOptions, b: EnqueueOptions): boolean {
  return (
    a.dedupeWindowMs === b.dedupeWindowMs &&
    a.maxLength === b.maxLength &&
    a.overflow === b.overflow
  );
}

/**
 * The arguments of one enqueue call carrying `batches` (none empty). A run of plain batches
 * (records with no producer id to check, no key and no delay: most of them) goes as 'p'
 * (or 'h' when some carry headers), its batch count k, its record count, the k batch
 * sizes, then per record its id and body packed in one value (headers first for 'h'), so
 * that the script stores
 * the whole run with no per-record checks when it fits. Any other batch goes as 'f', its
 * record count, then id, dedupe flag, key, headers, body and delay per record.
 */
export function callArgs(head: EnqueueHead, batches: readonly Batch[]): (string | number)[] {
  const args = head.args.slice();
  for (let i = 0; i < batches.length; ) {
    let end = i;
    let records = 0;
    let headers = false;
    while (end < batches.length && batches[end]!.every(isPlain)) {
      for (const r of batches[end]!) headers ||= !isEmpty(r.headers);
      records += batches[end++]!.length;
    }
    if (end === i) {
      pushFull(args, batches[i++]!);
      continue;
    }
    args.push(headers ? 'h' : 'p', end - i, records);
    for (let j = i; j < end; j++) args.push(batches[j]!.length);
    for (; i < end; i++) {
      for (const r of batches[i]!) {
        if (headers) args.push(encodeHeaders(r.headers), packMessage(r.id, r.body));
        else args.push(packMessage(r.id, r.body));
      }
    }
  }
  return args;
}

function pushFull(args: (string | number)[], batch: Batch): void {
  args.push('f', batch.length);
  for (const r of batch) {
    args.push(
      r.id,
      r.dedupe ? 1 : 0,
      r.key ?? '',
      encodeHeaders(r.headers),
      r.body,
      Math.ceil(r.delayMs),
    );
  }
}

function isEmpty(headers: Readonly<Record<string, string>>): boolean {
  for (const _ in headers) return false;
  return true;
}

function isPlain(record: OutgoingRecord): boolean {
  return !record.dedupe && record.key === undefined && !(record.delayMs > 0);
}

/**
 * The script's reply, per batch: 1 (all stored), 1 (stored) or 0 (duplicate) per record, or
 * why nothing was stored.
 */
export function outcomesOf(
  reply: unknown,
  batches: readonly Batch[],
): (EnqueueOutcome[] | Error)[] {
  const results = Array.isArray(reply) ? reply : [];
  return batches.map((batch, i) => {
    const result: unknown = results[i];
    if (result === 1) return new Array<EnqueueOutcome>(batch.length).fill('stored');
    if (Array.isArray(result) && result.length === batch.length) {
      return result.map((r) => (r === 1 ? 'stored' : 'duplicate'));
    }
    if (typeof result === 'string' && result.startsWith(fullPrefix)) {
      return new QueueFullError(result.slice(fullPrefix.length));
    }
    return new Error(`unexpected enqueue result: ${JSON.stringify(result) ?? 'none'}`);
  });
}

const fullPrefix = 'SLUICE_QUEUE_FULL ';
