import { fieldValue } from './cache-control.js';

/**
 * The one byte range a `Range: bytes=…` header asks of a body of `size` bytes (RFC 9110
 * section 14.1.2), or null to send the whole body instead, as a server may: for several
 * ranges, another unit, bad syntax, or a range past the end.
 */
export function byteRange(
  header: string | string[] | undefined,
  size: number,
): { start: number; end: number } | null {
  const text = fieldValue(header);
  if (text === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(text.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return null;
  return { start, end };
}
