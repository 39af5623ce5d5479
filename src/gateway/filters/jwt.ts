import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { InvalidArgumentError } from '../../core/errors.js';
import { parseDuration } from '../../core/units.js';
import { JWT_ALGORITHMS, type JwtConfig } from '../config.js';
import { HttpProblemError } from '../errors.js';

const ALLOWED: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

/** The claims of a valid token: at once for a token verified recently, else a promise. */
export type JwtVerify = (token: string) => JWTPayload | Promise<JWTPayload>;

/**
 * Checks the algorithm allow-list: it must be explicit, must not contain `none`, and must
 * not mix HMAC with public-key algorithms, so a public key can never be used as a secret.
 */
function checkAlgorithms(algorithms: readonly string[]): 'secret' | 'public' {
  if (algorithms.length === 0)
    throw new InvalidArgumentError('jwt.algorithms must list at least one algorithm');
  for (const alg of algorithms) {
    if (!ALLOWED.has(alg))
      throw new InvalidArgumentError(`jwt.algorithms: "${alg}" is not allowed`);
  }
  const hmac = algorithms.filter((a) => a.startsWith('HS')).length;
  if (hmac > 0 && hmac < algorithms.length) {
    throw new InvalidArgumentError('jwt.algorithms must not mix HS* with public-key algorithms');
  }
  return hmac > 0 ? 'secret' : 'public';
}

function keySource(config: JwtConfig, kind: 'secret' | 'public'): JWTVerifyGetKey | Uint8Array {
  if (kind === 'secret') {
    if (config.secret === undefined || config.secret.length < 32) {
      throw new InvalidArgumentError(
        'jwt: HS* algorithms need a `secret` of at least 32 characters',
      );
    }
    return new TextEncoder().encode(config.secret);
  }
  if (config.jwks !== undefined) {
    return createRemoteJWKSet(new URL(config.jwks), {
      cooldownDuration: parseDuration(config.jwksCooldown ?? '30s'),
      cacheMaxAge: parseDuration(config.jwksCacheMaxAge ?? '10m'),
      timeoutDuration: parseDuration(config.jwksTimeout ?? '2s'),
    });
  }
  if (config.keys !== undefined && config.keys.length > 0) {
    return createLocalJWKSet({
      keys: config.keys as unknown as Parameters<typeof createLocalJWKSet>[0]['keys'],
    });
  }
  throw new InvalidArgumentError('jwt needs `jwks`, `keys` or (for HS*) `secret`');
}

const unavailableCodes = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID']);

function toProblem(error: unknown): HttpProblemError {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string' || unavailableCodes.has(code)) {
    return new HttpProblemError(
      503,
      'auth-unavailable',
      'Token keys are unavailable; try again later',
      { 'retry-after': '5' },
      { cause: error },
    );
  }
  const detail =
    code === 'ERR_JWT_EXPIRED'
      ? 'The token has expired'
      : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
        ? `The token's ${(error as { claim?: string }).claim ?? 'claims'} claim is not acceptable`
        : 'The token is not valid';
  return new HttpProblemError(
    401,
    'invalid-token',
    detail,
    {
      'www-authenticate': 'Bearer error="invalid_token"',
    },
    { cause: error },
  );
}

/** A verifier for bearer tokens with the configured keys, issuer, audience and skew. */
export function jwtVerifier(config: JwtConfig): JwtVerify {
  const kind = checkAlgorithms(config.algorithms);
  const key = keySource(config, kind);
  const options = {
    algorithms: [...config.algorithms],
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
    clockTolerance: Math.round(parseDuration(config.clockSkew ?? '30s') / 1000),
    requiredClaims: ['exp'],
  };
  const skewMs = options.clockTolerance * 1000;
  const verified = new VerifiedTokens(10_000, 60_000);
  const verifyOnce = async (token: string): Promise<JWTPayload> => {
    try {
      const { payload } =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options);
      verified.add(token, payload, Date.now());
      return payload;
    } catch (error) {
      throw toProblem(error);
    } finally {
      verifying.delete(token);
    }
  };
  // A client's first burst brings the same new token on many connections at once: they
  // share one check of its signature (and one JWKS fetch) instead of one each.
  const verifying = new Map<string, Promise<JWTPayload>>();
  const verifyFresh = (token: string): Promise<JWTPayload> => {
    let pending = verifying.get(token);
    if (pending === undefined) {
      pending = verifyOnce(token);
      verifying.set(token, pending);
    }
    return pending;
  };
  return (token) => verified.get(token, Date.now(), skewMs) ?? verifyFresh(token);
}

/**
 * Tokens whose signature and claims were checked recently. A hit skips the signature
 * check, never the time checks: `exp` and `nbf` are compared on every use, and an entry
 * lives at most `ttlMs`, so a key withdrawn from the JWKS stops working soon after.
 */
class VerifiedTokens {
  readonly #entries = new Map<string, { payload: JWTPayload; until: number }>();

  constructor(
    readonly max: number,
    readonly ttlMs: number,
  ) {}

  get(token: string, now: number, skewMs: number): JWTPayload | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    const { payload } = entry;
    const expired = payload.exp !== undefined && payload.exp * 1000 + skewMs <= now;
    const early = payload.nbf !== undefined && payload.nbf * 1000 - skewMs > now;
    if (entry.until <= now || expired || early) {
      this.#entries.delete(token);
      return undefined;
    }
    return payload;
  }

  add(token: string, payload: JWTPayload, now: number): void {
    if (this.#entries.size >= this.max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(token, { payload, until: now + this.ttlMs });
  }
}
