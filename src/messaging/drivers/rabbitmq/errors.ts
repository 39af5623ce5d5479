import { EngineUnavailableError, type SluiceErrorOptions } from '../../../core/errors.js';

/** The AMQP reply code of a channel or connection error (404 not found, 406 precondition). */
export function replyCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** A publish came back unroutable: the queue it named is gone (deleted behind the driver). */
export class QueueMissingError extends EngineUnavailableError {
  constructor(
    readonly queue: string,
    options?: SluiceErrorOptions,
  ) {
    super(`RabbitMQ returned the message: queue ${queue} does not exist`, options);
    this.name = 'QueueMissingError';
  }
}

/**
 * The channel closed after the message was sent and before the broker confirmed it: it may
 * or may not be stored, and nothing will tell which.
 */
export class OutcomeUnknownError extends EngineUnavailableError {
  constructor(where: string, options?: SluiceErrorOptions) {
    super(
      `the channel closed before RabbitMQ confirmed the message for ${where}: it may have been stored`,
      options,
    );
    this.name = 'OutcomeUnknownError';
  }
}

/**
 * The management plugin's HTTP API (the `managementUrl` option) could not give a queue's
 * figures: unreachable, timed out, refused the credentials or answered an error (`status`).
 * The message names the URL without its password.
 */
export class ManagementApiError extends EngineUnavailableError {
  constructor(
    message: string,
    readonly status?: number | undefined,
    options?: SluiceErrorOptions,
  ) {
    super(message, options);
    this.name = 'ManagementApiError';
  }
}
