import AjvModule from 'ajv';
import { InvalidMessageError } from './errors.js';
import type { Schema } from './types.js';

type Check = (payload: unknown) => string | undefined;

const Ajv = AjvModule.default;
let ajv: InstanceType<typeof Ajv> | undefined;

/** Compiles a schema once into a check returning a reason, or undefined when valid. */
export function compileSchema<T>(schema: Schema<T> | undefined): Check | undefined {
  if (schema === undefined) return undefined;
  if (typeof schema === 'function') {
    return (payload) => (schema(payload) ? undefined : 'payload rejected by the schema predicate');
  }
  ajv ??= new Ajv({ allErrors: false, strict: false });
  const validate = ajv.compile(schema);
  return (payload) => {
    if (validate(payload)) return undefined;
    return ajv!.errorsText(validate.errors, { dataVar: 'payload' });
  };
}

/** JSON text of a payload, or an InvalidMessageError saying why it cannot be sent. */
export function encodePayload(
  payload: unknown,
  check: Check | undefined,
  maxBytes: number,
): string {
  if (check !== undefined) {
    const problem = check(payload);
    if (problem !== undefined) throw new InvalidMessageError(`invalid payload: ${problem}`);
  }
  let body: string | undefined;
  try {
    body = JSON.stringify(payload);
  } catch (cause) {
    throw new InvalidMessageError('payload is not JSON-serialisable', { cause });
  }
  if (body === undefined) {
    throw new InvalidMessageError(`payload of type ${typeof payload} is not JSON-serialisable`);
  }
  // Characters bound bytes from below; only measure exactly when it might matter.
  if (body.length * 3 > maxBytes && Buffer.byteLength(body) > maxBytes) {
    throw new InvalidMessageError(
      `payload is ${Buffer.byteLength(body)} bytes of JSON, over the limit of ${maxBytes}`,
    );
  }
  return body;
}

export function decodePayload(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new InvalidMessageError('stored body is not valid JSON', { cause });
  }
}
