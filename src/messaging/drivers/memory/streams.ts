import {
  type Retention,
  retainedBytes,
  type StreamEntryRecord,
  type StreamParts,
  type StreamPosition,
  type StreamRecord,
} from '../../driver.js';

interface Log {
  /** Contiguous offsets: entries[i].offset === entries[0].offset + i. */
  entries: StreamEntryRecord[];
  next: number;
  bytes: number;
  readonly groups: Map<string, number>;
  readonly listeners: Set<() => void>;
}

/** Streams in maps: each an array of entries with contiguous offsets. */
export class MemoryStreams implements StreamParts {
  readonly #logs = new Map<string, Log>();

  async append(name: string, records: readonly StreamRecord[], retention: Retention) {
    const log = this.#log(name);
    const now = Date.now();
    const offsets: number[] = [];
    for (const record of records) {
      const offset = log.next++;
      log.entries.push({ ...record, offset, publishedAt: now });
      log.bytes += retainedBytes(record);
      offsets.push(offset);
    }
    this.#trim(log, retention, now);
    for (const listener of log.listeners) listener();
    return offsets;
  }

  async read(name: string, from: number, limit: number) {
    const { entries } = this.#log(name);
    if (entries.length === 0) return [];
    const start = Math.max(0, from - entries[0]!.offset);
    return entries.slice(start, start + limit);
  }

  async resolvePosition(name: string, position: StreamPosition) {
    const log = this.#log(name);
    if (position === 'latest') return log.next;
    if (position === 'earliest') return log.entries[0]?.offset ?? log.next;
    const found = log.entries.find((e) => e.publishedAt >= position.time);
    return found?.offset ?? log.next;
  }

  async commitOffset(name: string, group: string, offset: number) {
    this.#log(name).groups.set(group, offset);
  }

  async committedOffset(name: string, group: string) {
    return this.#log(name).groups.get(group);
  }

  onAppend(name: string, listener: () => void): () => void {
    const { listeners } = this.#log(name);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  #log(name: string): Log {
    let log = this.#logs.get(name);
    if (log === undefined) {
      log = { entries: [], next: 0, bytes: 0, groups: new Map(), listeners: new Set() };
      this.#logs.set(name, log);
    }
    return log;
  }

  #trim(log: Log, retention: Retention, now: number): void {
    let drop = 0;
    const { entries } = log;
    const over = (i: number) =>
      (retention.maxCount !== undefined && entries.length - i > retention.maxCount) ||
      (retention.maxAgeMs !== undefined && entries[i]!.publishedAt < now - retention.maxAgeMs) ||
      (retention.maxBytes !== undefined && log.bytes > retention.maxBytes);
    while (drop < entries.length && over(drop)) {
      log.bytes -= retainedBytes(entries[drop]!);
      drop++;
    }
    if (drop > 0) log.entries = entries.slice(drop);
  }
}
