import { Transform, type TransformCallback } from 'node:stream';
import { HttpProblemError } from '../errors.js';

export const tooLarge = (max: number): HttpProblemError =>
  new HttpProblemError(413, 'body-too-large', `The request body exceeds ${max} bytes`, {
    connection: 'close',
  });

/** Passes bytes through until more than `max` went by, then fails with a 413 problem. */
export class BodyLimit extends Transform {
  #seen = 0;

  constructor(readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.max) callback(tooLarge(this.max));
    else callback(null, chunk);
  }
}
