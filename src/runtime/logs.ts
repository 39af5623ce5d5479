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

  #emit(source: LogSource, text: string, channel: 'stdout' | 'stderr', own: boolean): void {
    const parsed = asObject(text);
    if (this.#format === 'json') {
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
      this.#write(`${JSON.stringify(record)}\n`);
      return;
    }
    this.#write(`${this.#prefix(source)} ${parsed === undefined ? text : summary(parsed, text)}\n`);
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

/** A JSON log line read by a person: `INFO listening`, other fields left out. */
function summary(record: Record<string, unknown>, text: string): string {
  if (typeof record.msg !== 'string') return text;
  const level = typeof record.level === 'number' ? levels[record.level] : undefined;
  const label = level ?? (typeof record.level === 'string' ? record.level.toUpperCase() : 'INFO');
  const error = record.err as { message?: unknown } | undefined;
  const detail = typeof error?.message === 'string' ? `: ${error.message}` : '';
  return `${label} ${record.msg}${detail}`;
}
