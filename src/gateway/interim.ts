import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { endToEnd } from './forwarding.js';
import { stripConnectionHeaders } from './http2.js';

export type InterimHeaders = Record<string, string | string[]>;

/**
 * Relays an upstream's 1xx interim response (103 Early Hints, 102 Processing) to the client
 * ahead of the final one, as RFC 9110 section 15.2 asks of a proxy; a cache never stores
 * one. Not to an HTTP/1.0 client, which cannot take one, and not once the final response
 * has begun (a retry's or a background refresh's late 1xx would land in the body). 100 and
 * 101 never come here: undici fails an unsolicited 100 (the gateway sends no Expect
 * upstream and answers the client's itself), and upgrades take their own path. Over
 * HTTP/1.1 node:http can write only 102 and 103 (with a `Link`); other codes are dropped
 * there. An interim response node refuses (a bad `Link`) is dropped, never the request.
 */
export function relayInterim(res: ServerResponse, status: number, headers: InterimHeaders): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const fields = endToEnd(headers) as InterimHeaders;
  try {
    if (res.req.httpVersionMajor === 2) {
      const stream = (res as unknown as Http2ServerResponse).stream;
      if (stream.headersSent || stream.destroyed) return;
      stripConnectionHeaders(fields);
      stream.additionalHeaders({ ...fields, ':status': status });
    } else if (res.req.httpVersionMinor === 0) {
      return;
    } else if (status === 103) {
      res.writeEarlyHints(fields);
    } else if (status === 102) {
      res.writeProcessing();
    }
  } catch {
    // node refused a field of it: the final response still goes out.
  }
}
