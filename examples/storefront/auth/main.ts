import { createPublicKey } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { dataFile } from '../shared/env.js';
import { readJson, sendJson, serve } from '../shared/service.js';
import { loadSigningKey } from './signing-key.js';
import { demoUsers, Users } from './users.js';

const issuer = process.env.JWT_ISSUER ?? 'storefront';
const audience = process.env.JWT_AUDIENCE ?? 'api';
const { kid, privateKey } = loadSigningKey(dataFile('auth-signing-key.json'));
const publicKey = createPublicKey(privateKey);
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };

const users = new Users();
for (const [name, password] of demoUsers) await users.add(name, password);

serve({
  name: 'auth',
  route: async (req, res, url) => {
    if (url.pathname === '/.well-known/jwks.json' && req.method === 'GET') {
      sendJson(res, 200, jwks, { 'cache-control': 'public, max-age=300' });
      return '/.well-known/jwks.json';
    }
    if (url.pathname !== '/login' || req.method !== 'POST') return false;
    const body = (await readJson(req)) as { username?: unknown; password?: unknown };
    if (typeof body.username !== 'string' || typeof body.password !== 'string') {
      sendJson(res, 400, { title: 'username and password are required' });
      return '/login';
    }
    if (!(await users.verify(body.username, body.password))) {
      sendJson(res, 401, { title: 'wrong username or password' });
      return '/login';
    }
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(body.username)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    sendJson(res, 200, { token, tokenType: 'Bearer', expiresIn: 3600 });
    return '/login';
  },
});
