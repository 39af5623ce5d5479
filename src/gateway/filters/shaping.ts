import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseSize } from '../../core/units.js';
import { bufferUpTo } from '../buffer-up-to.js';
import type { CompileEnv } from '../compile.js';
import type { RouteConfig } from '../config.js';
import { HttpProblemError } from '../errors.js';
import type { Filter, GatewayContext, GatewayRequest, GatewayResponse, Handler } from '../types.js';
import { BodyLimit, tooLarge } from './body-limit.js';

const DEFAULT_MAX_BODY = '10mb';
const ignore = (): void => {};

function loadSchema(schema: string | Record<string, unknown>, env: CompileEnv): ValidateFunction {
  const ajv = env.memo('ajv', () => new Ajv({ allErrors: true, strict: false }));
  const object =
    typeof schema === 'string'
      ? (JSON.parse(readFileSync(resolve(env.baseDir, schema), 'utf8')) as Record<string, unknown>)
      : schema;
  return ajv.compile(object);
}

/** The whole body, or a 413 past `max` (the rest is not read). */
async function readAll(body: Readable, max: number): Promise<Buffer> {
  const read = await bufferUpTo(body, max);
  if (Buffer.isBuffer(read)) return read;
  body.destroy();
  throw tooLarge(max);
}

function describe(errors: ErrorObject[]): { pointer: string; message: string }[] {
  return errors.slice(0, 20).map((e) => ({
    pointer: e.instancePath || '/',
    message:
      e.keyword === 'additionalProperties'
        ? `unexpected property "${(e.params as { additionalProperty: string }).additionalProperty}"`
        : e.keyword === 'required'
          ? `missing property "${(e.params as { missingProperty: string }).missingProperty}"`
          : (e.message ?? 'is invalid'),
  }));
}

function invalidBody(errors: { pointer: string; message: string }[]): HttpProblemError {
  const error = new HttpProblemError(
    400,
    'invalid-body',
    errors.map((e) => `${e.pointer}: ${e.message}`).join('; '),
  );
  error.extensions = { errors };
  return error;
}

/**
 * Body size limit (by Content-Length at once, by counting for chunked bodies) and, when
 * the route has a schema, JSON validation of the buffered body before anything is sent
 * upstream.
 */
export function shapingFilter(route: RouteConfig, env: CompileEnv): Filter | null {
  const max = parseSize(route.body?.maxBytes ?? env.config.limits?.maxBodySize ?? DEFAULT_MAX_BODY);
  const validate = route.body?.schema === undefined ? null : loadSchema(route.body.schema, env);

  const shape = async (
    next: Handler,
    request: GatewayRequest,
    context: GatewayContext,
    body: Readable,
  ): Promise<GatewayResponse> => {
    const length = request.headers['content-length'];
    if (length !== undefined && Number(length) > max) throw tooLarge(max);
    if (validate === null) {
      const limited = body.pipe(new BodyLimit(max));
      // Until the proxy reads it, the client leaving mid-body fails it with no one listening.
      limited.on('error', ignore);
      body.once('error', (e) => limited.destroy(e));
      request.body = limited;
      return next(request, context);
    }
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
      throw new HttpProblemError(
        415,
        'unsupported-media-type',
        'The body must be application/json',
      );
    }
    const buffered = await readAll(body, max);
    let parsed: unknown;
    try {
      parsed = JSON.parse(buffered.toString('utf8'));
    } catch {
      throw new HttpProblemError(400, 'invalid-json', 'The body is not valid JSON');
    }
    if (!validate(parsed)) throw invalidBody(describe(validate.errors ?? []));
    request.body = buffered;
    return next(request, context);
  };

  return (next) => (request, context) => {
    const body = request.body;
    if (!(body instanceof Readable)) return next(request, context);
    return shape(next, request, context, body);
  };
}
