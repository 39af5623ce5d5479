import { EngineUnavailableError } from '../../core/errors.js';

/** The url with its password (if any) replaced, fit for an error message or a log line. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * What every driver throws when `connect()` cannot reach its engine (refused, unresolvable,
 * timed out, rejected the credentials): one code for all six, the engine's own error as cause.
 */
export function engineUnreachable(
  engine: string,
  url: string,
  cause: unknown,
): EngineUnavailableError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new EngineUnavailableError(`cannot connect to ${engine} at ${redactUrl(url)}: ${reason}`, {
    cause,
  });
}
