/** One field's directives: name (lower case) to argument, `true` for a directive without one. */
export type Directives = ReadonlyMap<string, string | true>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A field's value as one comma-separated list, however many lines it came in (RFC 9110 section 5.3). */
export function fieldValue(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * Parses `Cache-Control` (RFC 9111 section 5.2): names are case-insensitive, arguments are
 * tokens or quoted strings. A directive whose syntax is wrong (a space around `=`, an empty
 * argument) is dropped; one that appears twice with different arguments is kept as
 * `CONFLICT`, which freshness treats as stale (RFC 9111 section 4.2.1).
 */
export function parseCacheControl(value: string | string[] | number | undefined): Directives {
  const out = new Map<string, string | true>();
  const text = fieldValue(value);
  if (text === undefined) return out;
  for (const item of splitList(text)) {
    const eq = item.indexOf('=');
    const rawName = eq < 0 ? item : item.slice(0, eq);
    if (!TOKEN.test(rawName)) continue;
    const name = rawName.toLowerCase();
    let argument: string | true = true;
    if (eq >= 0) {
      const raw = item.slice(eq + 1);
      if (raw.startsWith('"')) {
        const unquoted = unquote(raw);
        if (unquoted === null) continue;
        argument = unquoted;
      } else if (TOKEN.test(raw)) argument = raw;
      else continue;
    }
    const before = out.get(name);
    if (before !== undefined && before !== argument) out.set(name, CONFLICT);
    else out.set(name, argument);
  }
  return out;
}

/** The argument of a directive that appeared twice with different values. */
export const CONFLICT = '\u0000conflict';

/**
 * A delta-seconds argument (RFC 9111 section 1.2.2): digits only, capped at 2^31. Undefined
 * when the directive is absent or its argument is not a number; 0 when it conflicts.
 */
export function deltaSeconds(directives: Directives, name: string): number | undefined {
  const argument = directives.get(name);
  if (argument === undefined || argument === true) return undefined;
  if (argument === CONFLICT) return 0;
  if (!/^\d+$/.test(argument)) return undefined;
  return Math.min(Number(argument), 2 ** 31);
}

/** Splits a list on commas outside quoted strings, trimming each member and dropping empty ones. */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      items.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(text.slice(start).trim());
  return items.filter((item) => item !== '');
}

function unquote(raw: string): string | null {
  let out = '';
  for (let i = 1; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') out += raw[++i] ?? '';
    else if (c === '"') return i === raw.length - 1 ? out : null;
    else out += c;
  }
  return null;
}
