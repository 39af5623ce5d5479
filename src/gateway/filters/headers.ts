import type { HeaderRules, RouteConfig } from '../config.js';
import type { Filter, Headers, ResponseHeaders } from '../types.js';

function apply(headers: Headers | ResponseHeaders, rules: HeaderRules): void {
  for (const name of rules.remove ?? []) delete headers[name.toLowerCase()];
  for (const [from, to] of Object.entries(rules.rename ?? {})) {
    const key = from.toLowerCase();
    const value = headers[key];
    if (value === undefined) continue;
    delete headers[key];
    (headers as Record<string, unknown>)[to.toLowerCase()] = value;
  }
  for (const [name, value] of Object.entries(rules.add ?? {})) {
    (headers as Record<string, unknown>)[name.toLowerCase()] = value;
  }
}

/** Path rewrite and header add/remove/rename, on the way up and on the way back. */
export function headersFilter(route: RouteConfig): Filter | null {
  const { requestHeaders, responseHeaders, rewrite } = route;
  if (!requestHeaders && !responseHeaders && !rewrite) return null;
  const prefix = routePrefix(route.path);
  return (next) => async (request, context) => {
    if (rewrite?.path !== undefined) {
      request.path = rewrite.path.replace(/:(\w+)/g, (_, name: string) =>
        encodeURIComponent(context.params[name] ?? ''),
      );
    } else if (rewrite?.prefix !== undefined) {
      const rest = request.path.slice(prefix.length);
      const joined = `${rewrite.prefix.replace(/\/$/, '')}${rest}`;
      request.path = joined.startsWith('/') ? joined : `/${joined}`;
    }
    if (requestHeaders) apply(request.headers, requestHeaders);
    const response = await next(request, context);
    if (responseHeaders) apply(response.headers, responseHeaders);
    return response;
  };
}

/** The literal part of a route path before any parameter or wildcard. */
function routePrefix(path: string): string {
  const wild = path.endsWith('/*') ? path.slice(0, -2) : path;
  const param = wild.indexOf('/:');
  return param < 0 ? wild : wild.slice(0, param);
}
