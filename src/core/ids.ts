import { randomFillSync } from 'node:crypto';
import { type Clock, systemClock } from './clock.js';
import { InvalidArgumentError } from './errors.js';

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const chunk = 10;
const pool = new Uint8Array(chunk * 512);
let poolOffset = pool.length;

/** Where the next `chunk` random bytes of `pool` start. */
function randomChunk(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += chunk;
  return poolOffset - chunk;
}

/** The first 15 characters of an id of millisecond `ms`: its time, dashed, and the version. */
function timePrefix(ms: number): string {
  const high = Math.floor(ms / 2 ** 16);
  const low = ms % 2 ** 16;
  return `${(high >>> 0).toString(16).padStart(8, '0')}-${low.toString(16).padStart(4, '0')}-7`;
}

/**
 * Returns a generator of UUIDv7 ids (RFC 9562): 48 bits of Unix time in ms, a 12-bit counter
 * and 62 random bits. Ids from one generator sort, as strings, in the order they were made,
 * even within one millisecond or if the clock steps back; across processes they sort by
 * time. They fit any `uuid` column.
 */
export function createIdGenerator(options: { clock?: Clock } = {}): () => string {
  const clock = options.clock ?? systemClock;
  let lastMs = -1;
  let counter = 0;
  // Formatted once per millisecond rather than once per id.
  let prefix = '';
  return () => {
    const now = Math.floor(clock.now());
    const at = randomChunk();
    if (now > lastMs) {
      lastMs = now;
      prefix = timePrefix(lastMs);
      // Start low in the 12-bit range so a burst within one ms rarely overflows it.
      counter = ((pool[at + 8]! << 8) | pool[at + 9]!) & 0x7ff;
    } else if (++counter > 0xfff) {
      lastMs += 1;
      prefix = timePrefix(lastMs);
      counter = 0;
    }
    return (
      prefix +
      hex[counter >> 8]![1]! +
      hex[counter & 0xff]! +
      '-' +
      hex[0x80 | (pool[at + 2]! & 0x3f)]! +
      hex[pool[at + 3]!]! +
      '-' +
      hex[pool[at + 4]!]! +
      hex[pool[at + 5]!]! +
      hex[pool[at + 6]!]! +
      hex[pool[at + 7]!]! +
      hex[pool[at]!]! +
      hex[pool[at + 1]!]!
    );
  };
}

/** A new UUIDv7 from the process-wide generator. */
export const newId: () => string = createIdGenerator();

const uuidv7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && uuidv7.test(value);
}

/** The Unix time in ms an id was made at. */
export function idTimestamp(id: string): number {
  if (!isId(id)) throw new InvalidArgumentError(`expected a UUIDv7 id, got ${JSON.stringify(id)}`);
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
