/** `value` as a mapping, or undefined when it is anything else (a list, text, nothing). */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The strings of `value` with their indexes, when it is a list; nothing otherwise. */
export function stringsOf(value: unknown): [text: string, index: number][] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, index) =>
    typeof item === 'string' ? [[item, index] as [string, number]] : [],
  );
}
