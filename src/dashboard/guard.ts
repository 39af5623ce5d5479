import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const loopbackHost = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

/**
 * Why a request must be refused, or undefined to serve it. Loopback alone does not keep out
 * a web page the user has open elsewhere: it may send a cross-site request here, or reach
 * this port under its own name after DNS rebinding. Browsers mark both: a foreign Host, an
 * Origin other than ours, `Sec-Fetch-Site: cross-site` or `same-site`.
 */
export function refusal(req: IncomingMessage): string | undefined {
  const host = req.headers.host ?? '';
  if (!loopbackHost.test(host)) return 'The dashboard answers on a loopback address only';
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return 'The dashboard refuses requests from other origins';
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return 'The dashboard refuses requests from other sites';
  }
  return undefined;
}

/** True when the request carries `Authorization: Bearer <token>`, compared in constant time. */
export function hasToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length).trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
