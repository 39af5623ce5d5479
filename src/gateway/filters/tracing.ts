import { SpanKind } from '@opentelemetry/api';
import type { CompileEnv } from '../compile.js';
import type { Filter } from '../types.js';
import { spanFilter } from './span.js';

/** The gateway's SERVER span per request, named after the route; see `spanFilter`. */
export function tracingFilter(
  route: { upstream: string },
  env: CompileEnv,
  routeName: string,
): Filter | null {
  if (env.config.tracing === false) return null;
  return spanFilter({
    kind: SpanKind.SERVER,
    name: (request) => `${request.method} ${routeName}`,
    attributes: (request, context) => ({
      'http.request.method': request.method,
      'http.route': routeName,
      'sluice.upstream': route.upstream,
      'sluice.request_id': context.requestId,
    }),
  });
}
