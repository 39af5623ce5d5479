import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { isHttpProblemError } from '../../src/gateway/errors.js';
import { jwtVerifier } from '../../src/gateway/filters/jwt.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';

function hs256(claims: Record<string, unknown>, secret = SECRET): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

describe('jwt verifier', () => {
  it('checks a new token once for the requests that bring it at the same time', async () => {
    const verify = jwtVerifier({ algorithms: ['HS256'], secret: SECRET });
    const token = hs256({ sub: 'alice', exp: inAnHour() });
    const first = verify(token);
    const second = verify(token);
    assert.ok(first instanceof Promise);
    assert.equal(second, first);
    assert.equal((await first).sub, 'alice');
    // Verified: the claims come at once from now on.
    assert.equal((verify(token) as { sub?: string }).sub, 'alice');
  });

  it('refuses every request sharing a bad token, and checks it again afterwards', async () => {
    const verify = jwtVerifier({ algorithms: ['HS256'], secret: SECRET });
    const forged = hs256({ sub: 'mallory', exp: inAnHour() }, `${SECRET}-not-ours`);
    const first = verify(forged);
    const second = verify(forged);
    assert.equal(second, first);
    for (const pending of [first, second]) {
      await assert.rejects(
        async () => pending,
        (error: unknown) => isHttpProblemError(error) && error.status === 401,
      );
    }
    const later = verify(forged);
    assert.notEqual(later, first);
    await assert.rejects(
      async () => later,
      (error: unknown) => isHttpProblemError(error),
    );
  });

  it('checks different tokens apart', async () => {
    const verify = jwtVerifier({ algorithms: ['HS256'], secret: SECRET });
    const alice = verify(hs256({ sub: 'alice', exp: inAnHour() }));
    const bob = verify(hs256({ sub: 'bob', exp: inAnHour() }));
    assert.notEqual(alice, bob);
    assert.deepEqual([(await alice).sub, (await bob).sub], ['alice', 'bob']);
  });
});
