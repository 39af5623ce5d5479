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
