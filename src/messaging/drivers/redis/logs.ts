import type { Redis } from 'ioredis';
import type { Retention, StreamEntryRecord, StreamPosition, StreamRecord } from '../../driver.js';
import type { Keys } from './keys.js';
import { appendScript, resolveScript } from './lua-log.js';
import { encodeHeaders, type Fields, toStreamEntry } from './records.js';
import { Script } from './script.js';

const append = new Script(appendScript);
const resolve = new Script(resolveScript);

/** Logs with offsets and committed group offsets (see lua-log.ts for the layout). */
export class RedisLogs {
  constructor(
    readonly client: Redis,
    readonly keys: Keys,
  ) {}

  channel(stream: string): string {
    return `${this.keys.log(stream)}:w`;
  }

  async append(
    stream: string,
    records: readonly StreamRecord[],
    retention: Retention,
  ): Promise<number[]> {
    const base = this.keys.log(stream);
    const args: (string | number)[] = [
      `${base}:s`,
      this.channel(stream),
      retention.maxCount ?? '',
      retention.maxAgeMs === undefined ? '' : Math.ceil(retention.maxAgeMs),
    ];
    for (const r of records) args.push(r.id, r.key ?? '', encodeHeaders(r.headers), r.body);
    return (await append.run(this.client, `${base}:s`, args)) as number[];
  }

  async read(stream: string, fromOffset: number, limit: number): Promise<StreamEntryRecord[]> {
    const from = Math.max(0, Math.floor(fromOffset));
    const entries = (await this.client.xrange(
      `${this.keys.log(stream)}:s`,
      `0-${from}`,
      '+',
      'COUNT',
      limit,
    )) as [string, Fields][];
    return entries.map(([id, fields]) => toStreamEntry(id, fields));
  }

  async resolve(stream: string, position: StreamPosition): Promise<number> {
    const s = `${this.keys.log(stream)}:s`;
    const args =
      typeof position === 'string' ? [s, position, 0] : [s, 'time', Math.floor(position.time)];
    return Number(await resolve.run(this.client, s, args));
  }

  async commit(stream: string, group: string, offset: number): Promise<void> {
    await this.client.hset(`${this.keys.log(stream)}:o`, group, offset);
  }

  async committed(stream: string, group: string): Promise<number | undefined> {
    const value = await this.client.hget(`${this.keys.log(stream)}:o`, group);
    return value === null ? undefined : Number(value);
  }
}
