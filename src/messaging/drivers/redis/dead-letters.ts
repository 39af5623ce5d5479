import type { Redis } from 'ioredis';
import { replayScript } from './lua-admin.js';
import { type Fields, messageId } from './records.js';
import { Script } from './script.js';

const replay = new Script(replayScript);
const page = 500;

/** A box's dead letters: the stream `<base>:x`, paged through by entry id. */
export class RedisDeadLetters {
  constructor(readonly client: Redis) {}

  async list(base: string, limit: number): Promise<[string, Fields][]> {
    return (await this.client.xrange(`${base}:x`, '-', '+', 'COUNT', limit)) as [string, Fields][];
  }

  /** Each entry moves atomically; one listed twice or already gone is not counted. */
  async replay(base: string, ids: readonly string[] | undefined): Promise<number> {
    let moved = 0;
    for await (const entryIds of this.#pages(base, ids)) {
      moved += Number(await replay.run(this.client, `${base}:s`, [base, ...entryIds]));
    }
    return moved;
  }

  async purge(base: string, ids: readonly string[] | undefined): Promise<number> {
    let removed = 0;
    for await (const entryIds of this.#pages(base, ids)) {
      removed += await this.client.xdel(`${base}:x`, ...entryIds);
    }
    return removed;
  }

  async *#pages(base: string, ids: readonly string[] | undefined): AsyncGenerator<string[]> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    let start = '-';
    for (;;) {
      const entries = (await this.client.xrange(`${base}:x`, start, '+', 'COUNT', page)) as [
        string,
        Fields,
      ][];
      if (entries.length === 0) return;
      const chosen = entries
        .filter(([, fields]) => wanted === undefined || wanted.has(messageId(fields)))
        .map(([entryId]) => entryId);
      if (chosen.length > 0) yield chosen;
      if (entries.length < page) return;
      start = `(${entries.at(-1)![0]}`;
    }
  }
}
