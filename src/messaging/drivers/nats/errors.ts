import {
  EngineUnavailableError,
  isSluiceError,
  QueueFullError,
  TimeoutError,
} from '../../../core/errors.js';

/** The `error` member of a JetStream API reply. */
export interface JsApiErrorBody {
  readonly code: number;
  readonly err_code: number;
  readonly description: string;
}

/** A JetStream API error from a reply this driver parsed itself; reads as the client's do. */
export class JsApiError extends Error {
  readonly #body: JsApiErrorBody;

  constructor(body: JsApiErrorBody) {
    super(body.description);
    this.name = 'JetStreamApiError';
    this.#body = body;
  }

  get code(): number {
    return this.#body.err_code;
  }

  apiError(): JsApiErrorBody {
    return { ...this.#body };
  }
}

/** A request failure named as the client names it (TimeoutError, NoRespondersError, ...). */
export class NatsRequestError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The JetStream API error code (10059 stream not found, ...) of an error, if it has one. */
export function apiCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('apiError' in error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export const codes = {
  streamNotFound: 10059,
  consumerNotFound: 10014,
  streamNameInUse: 10058,
  subjectsOverlap: 10065,
  maximumMessagesExceeded: 10077,
  maximumBytesExceeded: 10078,
  noMessageFound: 10037,
} as const;

export const isNotFound = (error: unknown): boolean => {
  const code = apiCode(error);
  return code === codes.streamNotFound || code === codes.consumerNotFound;
};

/** The stream refused a message for want of room (`discard: new` and full). */
export function isFull(error: unknown): boolean {
  const code = apiCode(error);
  if (code === codes.maximumMessagesExceeded || code === codes.maximumBytesExceeded) return true;
  return error instanceof Error && /maximum (messages|bytes) exceeded/i.test(error.message);
}

export function queueFull(stream: string, max: number, cause?: unknown): QueueFullError {
  return new QueueFullError(`stream ${stream} holds its maximum of ${max} messages`, { cause });
}

/**
 * A client failure as a Sluice error with a stable code. A publish that timed out may still
 * have been stored: retrying it with the same id is safe inside the dedupe window.
 */
export function translate(error: unknown, timeoutMs: number): unknown {
  if (isSluiceError(error) || !(error instanceof Error)) return error;
  if (error.name === 'TimeoutError') return new TimeoutError(timeoutMs, { cause: error });
  if (error.name === 'ClosedConnectionError' || error.name === 'DrainingConnectionError') {
    return new EngineUnavailableError(`the connection to NATS is closed: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}

/** Nothing answered a publish: no stream captures the subject (deleted behind our back). */
export function isNoStream(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.name === 'NoRespondersError' || /no responders/i.test(e.message)) return true;
  }
  return false;
}
