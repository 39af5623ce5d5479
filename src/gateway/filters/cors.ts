import { parseDuration } from '../../core/units.js';
import type { RouteConfig } from '../config.js';
import { HttpProblemError } from '../errors.js';
import type { Filter } from '../types.js';

/**
 * CORS: answers preflights itself (the upstream never sees them) and decorates actual
 * responses for allowed origins. Disallowed origins get no CORS headers, so the browser
 * blocks the response; a disallowed preflight is a 403.
 */
export function corsFilter(route: RouteConfig): Filter | null {
  const cors = route.cors;
  if (!cors) return null;
  const any = cors.origins.includes('*');
  const origins = new Set(cors.origins);
  const methods = (
    cors.methods ??
    route.methods ?? ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
  ).map((m) => m.toUpperCase());
  const allowMethods = methods.join(', ');
  const allowHeaders = cors.headers?.join(', ');
  const expose = cors.exposeHeaders?.join(', ');
  const maxAge = String(Math.round(parseDuration(cors.maxAge ?? '10m') / 1000));
  const credentials = cors.credentials === true;
  const allowed = (origin: string): boolean => origins.has(origin) || any;
  const allowOrigin = (origin: string): string => (any && !credentials ? '*' : origin);

  return (next) => async (request, context) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string') return next(request, context);
    const preflightMethod = request.headers['access-control-request-method'];
    if (request.method === 'OPTIONS' && typeof preflightMethod === 'string') {
      if (!allowed(origin) || !methods.includes(preflightMethod.toUpperCase())) {
        throw new HttpProblemError(403, 'cors-denied', 'This origin or method is not allowed', {
          vary: 'Origin',
        });
      }
      const headers: Record<string, string> = {
        'access-control-allow-origin': allowOrigin(origin),
        'access-control-allow-methods': allowMethods,
        'access-control-max-age': maxAge,
        vary: 'Origin',
      };
      const requested = request.headers['access-control-request-headers'];
      const h = allowHeaders ?? (typeof requested === 'string' ? requested : undefined);
      if (h) headers['access-control-allow-headers'] = h;
      if (credentials) headers['access-control-allow-credentials'] = 'true';
      return { status: 204, headers, body: null };
    }
    const response = await next(request, context);
    if (allowed(origin)) {
      response.headers['access-control-allow-origin'] = allowOrigin(origin);
      if (credentials) response.headers['access-control-allow-credentials'] = 'true';
      if (expose) response.headers['access-control-expose-headers'] = expose;
      const vary = response.headers.vary;
      response.headers.vary = vary ? `${vary}, Origin` : 'Origin';
    }
    return response;
  };
}
