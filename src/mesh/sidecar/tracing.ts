import { SpanKind } from '@opentelemetry/api';
import { spanFilter } from '../../gateway/filters/span.js';
import type { Filter } from '../../gateway/types.js';

/** A span per hop: SERVER on the inbound side, CLIENT on the outbound side; see `spanFilter`. */
export function hopTracing(kind: 'inbound' | 'outbound', name: string): Filter {
  return spanFilter({
    kind: kind === 'inbound' ? SpanKind.SERVER : SpanKind.CLIENT,
    name: (request) => `${request.method} ${kind === 'inbound' ? name : `-> ${name}`}`,
    attributes: (request, context) => ({
      'http.request.method': request.method,
      'url.path': request.path,
      [kind === 'inbound' ? 'sluice.mesh.service' : 'sluice.mesh.upstream']: name,
      'sluice.request_id': context.requestId,
    }),
  });
}
