const empty: Readonly<Record<string, string>> = Object.freeze({});

/** Headers are stored as JSON, or NULL when there are none (the common case). */
export function encodeHeaders(headers: Readonly<Record<string, string>>): string | null {
  for (const _ in headers) return JSON.stringify(headers);
  return null;
}

export function decodeHeaders(text: string | null): Readonly<Record<string, string>> {
  return text === null ? empty : (JSON.parse(text) as Record<string, string>);
}
