import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { abortError } from '../signals.js';
import { explain } from './explain.js';
import { type Env, interpolateDocument } from './interpolate.js';
import { locate, type PathSegment } from './locate.js';
import { type SchemaObject, validatorFor } from './validator.js';

export interface ParseConfigOptions {
  /** Named in every problem; default `<config>`. */
  file?: string | undefined;
  /** JSON Schema the interpolated value must satisfy; see `validator.ts` for extensions. */
  schema?: SchemaObject;
  /** Where `${NAME}` looks; default `process.env`. */
  env?: Env | undefined;
  /**
   * Problems the schema cannot see, such as a reference from one section to a name another
   * section should declare. Runs on the interpolated value whether or not the schema passed,
   * so it must read the value defensively; what it finds is reported with the rest.
   */
  check?: ConfigCheck | undefined;
}

/** A problem at a key path, before it is given its file, line and column. */
export interface PathProblem {
  segments: readonly PathSegment[];
  message: string;
}

export type ConfigCheck = (value: unknown) => readonly PathProblem[];

export interface LoadConfigOptions extends Omit<ParseConfigOptions, 'file'> {
  signal?: AbortSignal;
}

function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  return a.line - b.line || a.column - b.column;
}

/**
 * Parses YAML text, interpolates `${NAME}` / `${NAME:-default}` in string values and
 * validates the result. Throws one ConfigError listing every problem found (syntax,
 * interpolation, schema), each with its line, column and key path.
 */
export function parseConfig<T = unknown>(text: string, options: ParseConfigOptions = {}): T {
  const file = options.file ?? '<config>';
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });

  if (doc.errors.length > 0) {
    // One mistake often derails the rest of its line into further errors: keep the first.
    const byLine = new Map<number, ConfigProblem>();
    for (const error of doc.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      if (byLine.has(line)) continue;
      const message = `YAML syntax: ${error.message.split('\n')[0]!}${flowHint(text, error.pos[0])}`;
      byLine.set(line, { file, line, column: col, path: '', message });
    }
    throw new ConfigError([...byLine.values()].sort(byPosition));
  }

  const problems = interpolateDocument(doc, lines, file, options.env ?? process.env);
  const value: unknown = doc.toJS({ maxAliasCount: 100 });

  const found: PathProblem[] = [];
  if (options.schema !== undefined) {
    const validate = validatorFor(options.schema);
    if (!validate(value)) found.push(...explain(validate.errors ?? []));
  }
  if (options.check !== undefined) found.push(...options.check(value));
  // A reference that could not be interpolated explains whatever else is wrong there.
  const interpolationPaths = new Set(problems.map((p) => p.path));
  for (const { segments, message } of found) {
    const { line, column, path } = locate(doc, lines, segments);
    if (interpolationPaths.has(path)) continue;
    problems.push({ file, line, column, path, message });
  }
  if (problems.length > 0) throw new ConfigError(problems.sort(byPosition));
  return value as T;
}

/**
 * In a flow collection (`{ … }`, `[ … ]`) an unquoted `${NAME}` opens a nested mapping, so
 * the parser's complaint says nothing about the cause: name it when the line has one.
 */
function flowHint(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  const line = text.slice(start, end < 0 ? undefined : end);
  const unquoted = /(?:^|[\s,:[{])(\$\{[^}\s]*\}?)/.exec(line);
  if (unquoted === null) return '';
  const reference = unquoted[1]!;
  return ` (an unquoted ${reference} inside { } or [ ] opens a mapping: quote the value, as in "${reference}")`;
}

/** Why a file could not be read, in the words a config problem uses. */
export function readProblem(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Reads `file` and parses it as `parseConfig` does; an unreadable file is a problem too. */
export async function loadConfig<T = unknown>(
  file: string,
  options: LoadConfigOptions = {},
): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    const problem = { file, line: 0, column: 0, path: '', message: readProblem(file, error) };
    throw new ConfigError([problem], { cause: error });
  }
  return parseConfig<T>(text, { ...options, file });
}
