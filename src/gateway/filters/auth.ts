import type { JWTPayload } from 'jose';
import { InvalidArgumentError } from '../../core/errors.js';
import type { CompileEnv } from '../compile.js';
import type { RouteConfig } from '../config.js';
import { HttpProblemError } from '../errors.js';
import type { Filter, GatewayContext, Headers } from '../types.js';
import { apiKeyLookup } from './api-key.js';
import { type JwtVerify, jwtVerifier } from './jwt.js';

const challenge = { 'www-authenticate': 'Bearer' };

function claimValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A header value must not smuggle a line break or control byte upstream.
    if (c < 0x20 || c === 0x7f) return undefined;
    // Header values are bytes, not text: a name such as "José" goes as UTF-8, percent-encoded.
    if (c > 0x7e) return encodeURIComponent(text);
  }
  return text;
}

/**
 * Authentication for one route: a bearer JWT or an API key, whichever the route allows.
 * Headers that carry forwarded claims are always removed from what the client sent, on
 * public routes too, so a client can never pose as an authenticated consumer.
 */
export function authFilter(route: RouteConfig, env: CompileEnv, routeName: string): Filter | null {
  const config = env.config.auth ?? {};
  const modes =
    route.auth === undefined || route.auth === 'none'
      ? []
      : Array.isArray(route.auth)
        ? route.auth
        : [route.auth];
  const claimHeaders = Object.entries(config.jwt?.forwardClaims ?? {}).map(
    ([claim, header]) => [claim, header.toLowerCase()] as const,
  );
  const keyHeader = (config.apiKeys?.header ?? 'x-api-key').toLowerCase();
  if (modes.length === 0 && claimHeaders.length === 0) return null;

  let verify: JwtVerify | null = null;
  if (modes.includes('jwt')) {
    if (!config.jwt)
      throw new InvalidArgumentError(`route "${routeName}": auth jwt needs gateway.auth.jwt`);
    verify = env.memo('jwt', () => jwtVerifier(config.jwt!));
  }
  let lookup: ((key: string) => string | undefined) | null = null;
  if (modes.includes('apiKey')) {
    if (!config.apiKeys)
      throw new InvalidArgumentError(
        `route "${routeName}": auth apiKey needs gateway.auth.apiKeys`,
      );
    lookup = env.memo('apiKeys', () => apiKeyLookup(config.apiKeys!));
  }

  const admit = (claims: JWTPayload, headers: Headers, context: GatewayContext): void => {
    context.claims = claims;
    if (typeof claims.sub === 'string') context.subject = claims.sub;
    context.credential = 'jwt';
    for (const [claim, header] of claimHeaders) {
      const value = claimValue(claims[claim]);
      if (value !== undefined) headers[header] = value;
    }
  };

  // Not an async function: a token seen before is admitted without making a promise.
  // Refusals are rejected promises all the same, as callers of a filter expect.
  return (next) => (request, context) => {
    const headers = request.headers;
    for (const [, header] of claimHeaders) delete headers[header];
    if (modes.length === 0) return next(request, context);

    const authorization = headers.authorization;
    const apiKey = headers[keyHeader];
    if (verify && typeof authorization === 'string' && /^bearer /i.test(authorization)) {
      const claims = verify(authorization.slice(7).trim());
      if (claims instanceof Promise) {
        return claims.then((verified) => {
          admit(verified, headers, context);
          return next(request, context);
        });
      }
      admit(claims, headers, context);
    } else if (lookup && typeof apiKey === 'string') {
      const id = lookup(apiKey);
      if (id === undefined) {
        return Promise.reject(
          new HttpProblemError(401, 'invalid-api-key', 'The API key is not valid'),
        );
      }
      context.subject = id;
      context.credential = 'apiKey';
      delete headers[keyHeader];
    } else {
      return Promise.reject(
        new HttpProblemError(
          401,
          'unauthenticated',
          'This route needs credentials',
          verify ? challenge : {},
        ),
      );
    }
    return next(request, context);
  };
}
