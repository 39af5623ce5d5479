import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { type Clock, systemClock } from '../../core/clock.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { tokenInvalid } from '../errors.js';
import { assertServiceName } from '../spiffe.js';

const AUDIENCE = 'sluice-mesh';
const MAX_BOOTSTRAP_MS = 24 * 3600_000;

/**
 * `bootstrap`: given by the supervisor (or `sluice mesh token`) to one instance, short-lived,
 * exchanged once for an X.509-SVID. `renewal`: returned with each SVID, valid as long as it,
 * bound to the SVID's key (`jkt`), so it renews only with the same key.
 */
export type TokenKind = 'bootstrap' | 'renewal';

export interface TokenClaims {
  kind: TokenKind;
  service: string;
  /** The instance it was given to, when the giver named one. */
  instance?: string;
  /** Unix ms. */
  expiresAt: number;
  /** Renewal tokens only: the thumbprint of the key the SVID certifies. */
  keyThumbprint?: string;
}

/** Signs and checks mesh tokens (HS256) with the secret every control plane of a mesh shares. */
export class TokenAuthority {
  readonly #secret: Uint8Array;
  readonly #clock: Clock;

  constructor(secret: Uint8Array, clock: Clock = systemClock) {
    if (secret.byteLength < 32) throw new InvalidArgumentError('the token secret needs 32 bytes');
    this.#secret = secret;
    this.#clock = clock;
  }

  /** A bootstrap token for one instance of `service`, valid for `ttlMs` (at most 24 h). */
  bootstrap(service: string, options: { instance?: string; ttlMs?: number } = {}): Promise<string> {
    assertServiceName(service);
    const ttlMs = options.ttlMs ?? 15 * 60_000;
    if (!(ttlMs > 0 && ttlMs <= MAX_BOOTSTRAP_MS)) {
      throw new InvalidArgumentError('a bootstrap token lives more than 0 and at most 24 h');
    }
    const claims = { kind: 'bootstrap', svc: service, inst: options.instance };
    return this.#sign(claims, this.#clock.now() + ttlMs);
  }

  renewal(service: string, instance: string | undefined, keyThumbprint: string, expiresAt: number) {
    return this.#sign(
      { kind: 'renewal', svc: service, inst: instance, jkt: keyThumbprint },
      expiresAt,
    );
  }

  /** The claims of a token this authority signed and that has not expired; else throws. */
  async verify(token: string): Promise<TokenClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#secret, {
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(this.#clock.now()),
        clockTolerance: 0,
        requiredClaims: ['exp', 'svc', 'kind'],
      }));
    } catch (error) {
      const expired = (error as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw tokenInvalid(expired ? 'the token has expired' : 'the token is not valid', error);
    }
    const { kind, svc, inst, jkt, exp } = payload;
    if ((kind !== 'bootstrap' && kind !== 'renewal') || typeof svc !== 'string') {
      throw tokenInvalid('the token is not a mesh token');
    }
    return {
      kind,
      service: svc,
      expiresAt: (exp as number) * 1000,
      ...(typeof inst === 'string' ? { instance: inst } : {}),
      ...(typeof jkt === 'string' ? { keyThumbprint: jkt } : {}),
    };
  }

  #sign(claims: Record<string, unknown>, expiresAt: number): Promise<string> {
    const now = this.#clock.now();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .setJti(randomUUID())
      .sign(this.#secret);
  }
}
