import { Readable } from 'node:stream';

/** Reads up to `max` bytes; past that, gives back a stream of everything (nothing lost). */
export async function bufferUpTo(body: Readable, max: number): Promise<Buffer | Readable> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) return Buffer.concat(chunks);
    chunks.push(value as Buffer);
    size += (value as Buffer).length;
    if (size > max) {
      return Readable.from(
        (async function* () {
          yield* chunks;
          for (let r = await iterator.next(); !r.done; r = await iterator.next())
            yield r.value as Buffer;
        })(),
      );
    }
  }
}
