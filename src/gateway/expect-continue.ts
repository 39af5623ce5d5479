import type { IncomingMessage, ServerResponse } from 'node:http';

type Reader = (size: number) => void;

/**
 * For a request with `Expect: 100-continue`, sends the 100 only once something first reads
 * the body: after auth, rate limits and the declared-length check. A client whose body is
 * too large gets its 413 (an unauthenticated one its 401) instead, and never sends the body.
 */
export function continueOnRead(req: IncomingMessage, res: ServerResponse): void {
  const stream = req as unknown as { _read: Reader };
  const read = stream._read;
  stream._read = function (this: IncomingMessage, size: number): void {
    stream._read = read;
    if (!res.headersSent && !res.writableEnded) res.writeContinue();
    read.call(this, size);
  };
}
