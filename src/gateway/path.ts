import { badRequest } from './errors.js';

export interface RequestTarget {
  /** Canonical path: dot segments resolved, slashes merged, unreserved bytes decoded. */
  path: string;
  /** The raw query, `?` included, or `''`. */
  query: string;
}

const HEX = '0123456789ABCDEF';
// pchar from RFC 3986 plus '/', as char codes; everything else is escaped or refused.
const allowed = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") {
  allowed[c.charCodeAt(0)] = 1;
}
const unreserved = (b: number): boolean =>
  (b >= 0x41 && b <= 0x5a) ||
  (b >= 0x61 && b <= 0x7a) ||
  (b >= 0x30 && b <= 0x39) ||
  b === 0x2d ||
  b === 0x2e ||
  b === 0x5f ||
  b === 0x7e;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Parses and normalises an origin-form request target once, so that the path routes
 * match is exactly the path the upstream receives. Anything that could make the two
 * disagree is refused rather than guessed at: encoded `/` and `\`, double encoding
 * (`%25` followed by hex), NUL and control bytes, and `..` climbing above the root.
 */
export function normaliseTarget(url: string | undefined): RequestTarget {
  if (url === undefined || url.charCodeAt(0) !== 0x2f) {
    throw badRequest('The request target must be an absolute path', 'bad-path');
  }
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  return { path: isCanonical(raw) ? raw : canonicalise(raw), query };
}

/** The common case: only plain pchars, no empty, `.` or `..` segments. */
function isCanonical(raw: string): boolean {
  let prev = 0x2f;
  for (let i = 1; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 128 || allowed[c] === 0) return false;
    if (c === 0x2f && prev === 0x2f) return false;
    if (c === 0x2e && prev === 0x2f) return false;
    prev = c;
  }
  return true;
}

function canonicalise(raw: string): string {
  const out: string[] = [];
  const segments = raw.split('/');
  for (let s = 1; s < segments.length; s++) {
    const segment = decodeSegment(segments[s]!);
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) throw badRequest('The path climbs above the root', 'bad-path');
      out.pop();
      continue;
    }
    out.push(segment);
  }
  const trailing = raw.length > 1 && raw.endsWith('/') && out.length > 0;
  return `/${out.join('/')}${trailing ? '/' : ''}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Escaped bytes above 0x7f must spell UTF-8 (RFC 3629): an overlong form such as `%C0%AE`
 * (a disguised `.`), a surrogate or a stray continuation byte is refused, never forwarded
 * for an upstream to decode its own way.
 */
function checkUtf8(segment: string, start: number): void {
  const bytes: number[] = [];
  for (let i = start; segment.charCodeAt(i) === 0x25; i += 3) {
    const byte = hexValue(segment.charCodeAt(i + 1)) * 16 + hexValue(segment.charCodeAt(i + 2));
    if (!(byte >= 0x80)) break;
    bytes.push(byte);
  }
  try {
    utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw badRequest('The path is not valid UTF-8', 'bad-path');
  }
}

function decodeSegment(segment: string): string {
  let result = '';
  let inUtf8 = false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(segment.charCodeAt(i + 1));
      const lo = hexValue(segment.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) throw badRequest('Malformed percent-encoding in the path', 'bad-path');
      const byte = hi * 16 + lo;
      if (byte < 0x80) inUtf8 = false;
      else if (!inUtf8) {
        checkUtf8(segment, i);
        inUtf8 = true;
      }
      if (byte === 0x2f || byte === 0x5c) {
        throw badRequest('Encoded slashes are not allowed in the path', 'bad-path');
      }
      if (
        byte === 0x25 &&
        hexValue(segment.charCodeAt(i + 3)) >= 0 &&
        hexValue(segment.charCodeAt(i + 4)) >= 0
      ) {
        throw badRequest('Double percent-encoding is not allowed in the path', 'bad-path');
      }
      if (byte < 0x20 || byte === 0x7f) {
        throw badRequest('Control characters are not allowed in the path', 'bad-path');
      }
      result += unreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
      continue;
    }
    inUtf8 = false;
    if (c < 0x20 || c === 0x7f || c === 0x5c) {
      throw badRequest(
        'Control characters and backslashes are not allowed in the path',
        'bad-path',
      );
    } else if (c < 128 && allowed[c] === 1) {
      result += segment[i];
    } else {
      const ch = String.fromCodePoint(segment.codePointAt(i)!);
      if (ch.length === 2) i++;
      result += encodeUtf8(ch);
    }
  }
  return result;
}

function encodeUtf8(ch: string): string {
  try {
    return encodeURIComponent(ch);
  } catch {
    // A lone surrogate has no UTF-8 form.
    throw badRequest('The path is not valid UTF-8', 'bad-path');
  }
}

/** Decodes a canonical path segment for use as a parameter value. */
export function decodeParam(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
