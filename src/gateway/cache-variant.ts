type HeaderValue = string | string[] | number | undefined;

/** The header names a `Vary` value lists (any number of lines), lower-cased and sorted; `*` included as is. */
export function varyNames(vary: HeaderValue): string[] {
  if (vary === undefined) return [];
  const text = Array.isArray(vary) ? vary.join(',') : String(vary);
  const names = text
    .toLowerCase()
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return [...new Set(names)].sort();
}

/**
 * Names one variant of a cached URL: the request's values of the headers the response
 * Varies on, normalised so that equivalent requests share it (several lines are one list,
 * whitespace around commas does not count; `Accept-Language` ignores case and order).
 * Absent and empty stay apart. Responses without `Vary` all share the variant `''`.
 */
export function variantOf(vary: HeaderValue, requestHeaders: Record<string, HeaderValue>): string {
  const names = varyNames(vary);
  if (names.length === 0) return '';
  return JSON.stringify(names.map((name) => [name, normalised(name, requestHeaders[name])]));
}

function normalised(name: string, value: HeaderValue): string | null {
  if (value === undefined) return null;
  const members = (Array.isArray(value) ? value.join(',') : String(value))
    .split(',')
    .map((member) => member.trim());
  if (name === 'accept-language') {
    return members
      .map((member) => member.toLowerCase().replace(/\s+/g, ''))
      .sort()
      .join(',');
  }
  return members.join(',');
}
