/** `12 ms`, `1.4 s`, `3.2 min`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** `14:03:22.120` in the viewer's offset from UTC, as the server knows it (UTC). */
export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

export function dateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** A count or a rate with at most one decimal. */
export function num(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(value < 10 ? 2 : 1);
}

export function percent(part: number, whole: number): string {
  if (whole === 0) return '–';
  return `${((100 * part) / whole).toFixed(1)} %`;
}
