type HeaderValue = string | string[] | number | undefined;

/** The header names a `Vary` value lists, lower-cased and sorted; `*` included as is. */
export function varyNames(vary: HeaderValue): string[] {
  if (vary === undefined) return [];
  const names = String(vary)
    .toLowerCase()
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return names.sort();
}

/**
 * Names one variant of a cached URL: the request's values of the headers the response
 * Varies on (absent and empty kept apart, as http-cache-semantics matches them). Responses
 * without `Vary` all share the variant `''`.
 */
export function variantOf(vary: HeaderValue, requestHeaders: Record<string, HeaderValue>): string {
  const names = varyNames(vary);
  if (names.length === 0) return '';
  return JSON.stringify(names.map((name) => [name, requestHeaders[name] ?? null]));
}
