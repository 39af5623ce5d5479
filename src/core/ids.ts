import { randomFillSync } from 'node:crypto';
import { type Clock, systemClock } from './clock.js';
import { InvalidArgumentError } from './errors.js';

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const chunk = 10;
const pool = new Uint8Array(chunk * 512);
let poolOffset = pool.length;

function randomChunk(): Uint8Array {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += chunk;
  return pool.subarray(poolOffset - chunk, poolOffset);
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
  return () => {
    const now = Math.floor(clock.now());
    const bytes = randomChunk();
    if (now > lastMs) {
      lastMs = now;
      // Start low in the 12-bit range so a burst within one ms rarely overflows it.
      counter = ((bytes[8]! << 8) | bytes[9]!) & 0x7ff;
    } else if (++counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
    const high = Math.floor(lastMs / 2 ** 16);
    const low = lastMs % 2 ** 16;
    return (
      (high >>> 0).toString(16).padStart(8, '0') +
      '-' +
      low.toString(16).padStart(4, '0') +
      '-' +
      (0x7000 | counter).toString(16) +
      '-' +
      hex[0x80 | (bytes[2]! & 0x3f)]! +
      hex[bytes[3]!]! +
      '-' +
      hex[bytes[4]!]! +
      hex[bytes[5]!]! +
      hex[bytes[6]!]! +
      hex[bytes[7]!]! +
      hex[bytes[0]!]! +
      hex[bytes[1]!]!
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
