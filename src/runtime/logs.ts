import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export type LogFormat = 'pretty' | 'json';

export interface LogSinkOptions {
  /** `pretty`: a coloured `service |` prefix per line; `json`: one JSON object per line. */
  format: LogFormat;
  /** Default: stdout. Receives whole lines, newline included. */
  write?: (line: string) => void;
  /** Colours in `pretty` format; default true. */
  color?: boolean;
}

/** Where a line came from: `orders` instance 1, or the supervisor itself (`sluice`). */
export interface LogSource {
  service: string;
  instance?: number;
}

const palette = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];
const levels: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const stderrLevel = 50;
const stdoutLevel = 30;

function asObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Merges the output of every process, and the supervisor's own log, into one stream. */
export class LogSink {
  readonly #format: LogFormat;
  readonly #write: (line: string) => void;
  readonly #color: boolean;
  readonly #colors = new Map<string, number>();
  #listeners: Array<(record: Record<string, unknown>) => void> = [];
  #width = 6;

  constructor(options: LogSinkOptions) {
    this.#format = options.format;
    this.#write = options.write ?? ((line) => process.stdout.write(line));
    this.#color = options.color ?? true;
  }

  /** Widens the prefix column up front, so that it does not shift as processes start. */
  reserve(label: string): void {
    this.#width = Math.max(this.#width, label.length);
  }

  /** Reads `stream` line by line into the merged log. */
  attach(stream: Readable, source: LogSource, channel: 'stdout' | 'stderr'): void {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (text) => this.line(source, text, channel));
  }

  line(source: LogSource, text: string, channel: 'stdout' | 'stderr' = 'stdout'): void {
    this.#emit(source, text, channel, false);
  }

  /** A pino destination for the supervisor's own log; a line's own `service` field is kept. */
  destination(service: string): { write(line: string): void } {
    return { write: (line) => this.#emit({ service }, line.trimEnd(), 'stdout', true) };
  }

  /** Also hands every line, as one JSON-shaped record, to `listener` (the telemetry store). */
  onRecord(listener: (record: Record<string, unknown>) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  #emit(source: LogSource, text: string, channel: 'stdout' | 'stderr', own: boolean): void {
    const parsed = asObject(text);
    const json = this.#format === 'json';
    if (json || this.#listeners.length > 0) {
      const fields = { service: source.service, ...instanceField(source) };
      const record =
        parsed === undefined
          ? {
              level: channel === 'stderr' ? stderrLevel : stdoutLevel,
              time: Date.now(),
              ...fields,
              msg: text,
            }
          : own
            ? { ...fields, ...parsed }
            : { ...parsed, ...fields };
      for (const listener of this.#listeners) listener(record);
      if (json) {
        this.#write(`${JSON.stringify(record)}\n`);
        return;
      }
    }
    this.#write(`${this.#prefix(source)} ${parsed === undefined ? text : prettyRecord(parsed)}\n`);
  }

  #prefix(source: LogSource): string {
    const label =
      source.instance === undefined ? source.service : `${source.service}.${source.instance}`;
    this.#width = Math.max(this.#width, label.length);
    const padded = `${label.padEnd(this.#width)} |`;
    if (!this.#color) return padded;
    let color = this.#colors.get(source.service);
    if (color === undefined) {
      color = palette[this.#colors.size % palette.length]!;
      this.#colors.set(source.service, color);
    }
    return `\u001b[${color}m${padded}\u001b[0m`;
  }
}

function instanceField(source: LogSource): { instance?: number } {
  return source.instance === undefined ? {} : { instance: source.instance };
}

/**
 * A JSON log line read by a person, as complete as the JSON:
 * `12:00:01.250 WARN payment breaker from=closed to=open reason="failure rate 60%" pid=12`.
 * The clock comes first, then level and message, then every other field as `key=value`
 * (nested objects as `err.message=…`, values with spaces or quotes JSON-quoted).
 */
export function prettyRecord(record: Record<string, unknown>): string {
  const { level, msg, time, ...rest } = record;
  const name =
    typeof level === 'number'
      ? (levels[level] ?? String(level))
      : typeof level === 'string'
        ? level.toUpperCase()
        : 'INFO';
  const parts: string[] = [];
  if (typeof time === 'number' || typeof time === 'string') {
    const date = new Date(time);
    parts.push(Number.isNaN(date.getTime()) ? String(time) : date.toISOString().slice(11, 23));
  }
  parts.push(name);
  if (msg !== undefined && msg !== '')
    parts.push(typeof msg === 'string' ? msg : JSON.stringify(msg));
  flatten('', rest, parts);
  return parts.join(' ');
}

function flatten(prefix: string, value: Record<string, unknown>, out: string[]): void {
  for (const [key, field] of Object.entries(value)) {
    const path = `${prefix}${key}`;
    if (typeof field === 'object' && field !== null && !Array.isArray(field)) {
      flatten(`${path}.`, field as Record<string, unknown>, out);
    } else {
      out.push(`${path}=${fieldText(field)}`);
    }
  }
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') {
    return value !== '' && /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  }
  return JSON.stringify(value) ?? String(value);
}
