import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect, createServer } from 'node:tls';
import { ManualClock } from '../../src/core/clock.js';
import { isSluiceError } from '../../src/core/errors.js';
import { CertificateAuthority } from '../../src/mesh/identity/authority.js';
import { caFileNames } from '../../src/mesh/identity/ca-files.js';
import { createCsr } from '../../src/mesh/identity/csr.js';
import { TokenAuthority } from '../../src/mesh/identity/tokens.js';
import { ecdsaP256, generateKeyPair, privateKeyPem, x509 } from '../../src/mesh/identity/x509.js';
import { tempDir, trustDomain } from './support.js';

const paymentId = `spiffe://${trustDomain}/svc/payment`;
const HOUR = 3600_000;

async function openCa(dir = tempDir(), clock?: ManualClock) {
  return CertificateAuthority.open({ dir, trustDomain, ...(clock ? { clock } : {}) });
}

async function certifyPayment(ca: CertificateAuthority, csrId = paymentId) {
  const token = await ca.tokens.bootstrap('payment', { instance: 'payment-0' });
  const keys = await generateKeyPair();
  return { keys, issued: await ca.certify(token, await createCsr(keys, csrId)) };
}

function chainOf(pem: string): X509Certificate[] {
  return pem
    .split(/(?<=-----END CERTIFICATE-----)\n?/)
    .filter((s) => s.includes('BEGIN'))
    .map((s) => new X509Certificate(s));
}

async function refused(promise: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isSluiceError(error, code), `expected ${code}, got ${String(error)}`);
    if (message !== undefined) assert.match((error as Error).message, message);
    return true;
  });
}

describe('mesh CA: X.509-SVID issuance', () => {
  it('signs one URI SAN, EKU server+client, no CA flag, digitalSignature only, 24 h', async () => {
    const ca = await openCa();
    const before = Date.now();
    const { issued } = await certifyPayment(ca);
    assert.equal(issued.spiffeId, paymentId);
    const [leaf, issuer] = chainOf(issued.certificate);
    assert.ok(leaf && issuer);
    assert.equal(leaf.subjectAltName, `URI:${paymentId}`);
    assert.equal(leaf.ca, false);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const parsed = new x509.X509Certificate(leaf.raw);
    assert.equal(
      parsed.getExtension(x509.KeyUsagesExtension)?.usages,
      x509.KeyUsageFlags.digitalSignature,
    );
    assert.equal(parsed.getExtension(x509.KeyUsagesExtension)?.critical, true);
    assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.length, 1);
    const lifetime = Date.parse(leaf.validTo) - before;
    assert.ok(
      lifetime > 24 * HOUR - 60_000 && lifetime <= 24 * HOUR + 60_000,
      `lifetime ${lifetime}`,
    );
    assert.equal(new Date(issued.notAfter).getTime(), Date.parse(leaf.validTo));
    // The chain verifies up to the trust bundle's root.
    const root = chainOf(issued.trustBundle)[0]!;
    assert.ok(leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey));
    assert.ok(issuer.checkIssued(root) && issuer.verify(root.publicKey));
    assert.equal(issuer.ca, true);
    assert.equal(root.ca, true);
  });

  it('refuses a CSR for another service or trust domain than the token names', async () => {
    const ca = await openCa();
    await refused(
      certifyPayment(ca, `spiffe://${trustDomain}/svc/orders`),
      'SLUICE_MESH_CSR_INVALID',
      /orders/,
    );
    await refused(certifyPayment(ca, `spiffe://other.test/svc/payment`), 'SLUICE_MESH_CSR_INVALID');
  });

  it('refuses a forged token, an expired token and no token', async () => {
    const clock = new ManualClock(Date.now());
    const ca = await openCa(tempDir(), clock);
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, paymentId);
    const forged = await new TokenAuthority(new Uint8Array(32).fill(7)).bootstrap('payment');
    await refused(ca.certify(forged, csr), 'SLUICE_MESH_TOKEN_INVALID', /not valid/);
    const token = await ca.tokens.bootstrap('payment', { ttlMs: 60_000 });
    clock.advance(61_000);
    await refused(ca.certify(token, csr), 'SLUICE_MESH_TOKEN_INVALID', /expired/);
    await refused(ca.certify('not-a-token', csr), 'SLUICE_MESH_TOKEN_INVALID');
    assert.throws(() => ca.tokens.bootstrap('payment', { ttlMs: 25 * HOUR }), /at most 24 h/);
  });

  it('refuses malformed, badly signed, RSA, multi-name and CA-asking CSRs', async () => {
    const ca = await openCa();
    const token = await ca.tokens.bootstrap('payment');
    const keys = await generateKeyPair();
    const good = await createCsr(keys, paymentId);
    const cases: [string, unknown][] = [
      ['not PEM', 'hello'],
      ['a number', 42],
      ['two blocks', good + good],
    ];
    // One flipped byte in the signature.
    const der = Buffer.from(x509.PemConverter.decodeFirst(good));
    der[der.length - 3] = der[der.length - 3]! ^ 0x01;
    cases.push(['bad signature', x509.PemConverter.encode(der, 'CERTIFICATE REQUEST')]);
    const sign = async (extensions: x509.Extension[], k = keys, alg: object = ecdsaP256) =>
      (
        await x509.Pkcs10CertificateRequestGenerator.create({
          keys: k,
          signingAlgorithm: alg as never,
          extensions,
        })
      ).toString('pem');
    const uri = (v: string) => ({ type: 'url' as const, value: v });
    cases.push([
      'a DNS name too',
      await sign([
        new x509.SubjectAlternativeNameExtension([
          uri(paymentId),
          { type: 'dns', value: 'payment' },
        ]),
      ]),
    ]);
    cases.push([
      'two URIs',
      await sign([
        new x509.SubjectAlternativeNameExtension([
          uri(paymentId),
          uri(`spiffe://${trustDomain}/svc/x`),
        ]),
      ]),
    ]);
    cases.push(['no SAN', await sign([])]);
    cases.push([
      'a CA flag',
      await sign([
        new x509.SubjectAlternativeNameExtension([uri(paymentId)]),
        new x509.BasicConstraintsExtension(true),
      ]),
    ]);
    const { webcrypto } = await import('node:crypto');
    const rsa = (await webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    )) as never;
    cases.push([
      'an RSA key',
      await sign([new x509.SubjectAlternativeNameExtension([uri(paymentId)])], rsa, {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
      }),
    ]);
    for (const [what, csr] of cases) {
      await refused(ca.certify(token, csr), 'SLUICE_MESH_CSR_INVALID').catch((error: unknown) => {
        throw new Error(`${what}: ${(error as Error).message}`);
      });
    }
  });

  it('renews with the renewal token for the same key only', async () => {
    const ca = await openCa();
    const { keys, issued } = await certifyPayment(ca);
    const renewed = await ca.certify(issued.token, await createCsr(keys, paymentId));
    assert.equal(renewed.spiffeId, paymentId);
    const other = await generateKeyPair();
    await refused(
      ca.certify(issued.token, await createCsr(other, paymentId)),
      'SLUICE_MESH_TOKEN_INVALID',
      /key/,
    );
  });
});

describe('mesh CA: files', () => {
  it('generates the root and issuer once, keeps them across restarts, keys 0600', async () => {
    const dir = tempDir();
    const first = await openCa(dir);
    const again = await openCa(dir);
    assert.equal(again.trustBundlePem, first.trustBundlePem);
    assert.equal(again.issuer.serialNumber, first.issuer.serialNumber);
    for (const file of [caFileNames.rootKey, caFileNames.issuerKey, caFileNames.tokenSecret]) {
      assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
    }
    // A token from one process is good in the next: they share the secret.
    const token = await first.tokens.bootstrap('payment');
    assert.equal((await again.tokens.verify(token)).service, 'payment');
  });

  it('two control planes starting together on an empty directory end with one CA', async () => {
    const dir = tempDir();
    const [a, b] = await Promise.all([openCa(dir), openCa(dir)]);
    assert.equal(a.trustBundlePem, b.trustBundlePem);
  });

  it('uses the files the user gives, and refuses an issuer its bundle did not sign', async () => {
    const sourceDir = tempDir();
    const source = await openCa(sourceDir);
    const stranger = await openCa();
    const dir = tempDir();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const bundle = write('bundle.pem', source.trustBundlePem);
    const issuer = write('issuer.pem', `${source.issuer.toString('pem')}\n`);
    const key = write(
      'issuer-key.pem',
      readFileSync(join(sourceDir, caFileNames.issuerKey), 'utf8'),
    );
    const ca = await CertificateAuthority.open({
      dir: tempDir(),
      trustDomain,
      files: { trustBundle: bundle, issuer, issuerKey: key },
    });
    assert.equal(ca.issuer.serialNumber, source.issuer.serialNumber);
    const foreign = write('foreign.pem', stranger.trustBundlePem);
    await refused(
      CertificateAuthority.open({
        dir: tempDir(),
        trustDomain,
        files: { trustBundle: foreign, issuer, issuerKey: key },
      }),
      'SLUICE_MESH_CA_INVALID',
      /not signed by any root/,
    );
  });

  it('refuses to load a CA whose issuer has expired', async () => {
    const dir = tempDir();
    await openCa(dir);
    const later = new ManualClock(Date.now() + 400 * 24 * HOUR);
    await refused(openCa(dir, later), 'SLUICE_MESH_CA_INVALID', /expired/);
  });
});

describe('mesh CA: anchor rotation', () => {
  it('serves both roots, re-signs the issuer under the new one, and old and new SVIDs both verify', async () => {
    const ca = await openCa();
    const { issued: before } = await certifyPayment(ca);
    const oldRoot = ca.anchors[0]!;
    await ca.rotateAnchor();
    assert.equal(ca.anchors.length, 2);
    const newRoot = ca.anchors.find((a) => a.serialNumber !== oldRoot.serialNumber)!;
    assert.ok(await ca.issuer.verify({ publicKey: newRoot.publicKey, signatureOnly: true }));
    const { issued: after } = await certifyPayment(ca);
    assert.equal(chainOf(after.trustBundle).length, 2);
    const roots = chainOf(after.trustBundle);
    for (const issued of [before, after]) {
      const [leaf, issuer] = chainOf(issued.certificate);
      assert.ok(leaf!.verify(issuer!.publicKey), 'the leaf verifies under its issuer');
      assert.ok(roots.some((r) => issuer!.checkIssued(r) && issuer!.verify(r.publicKey)));
    }
    await ca.finishRotation();
    assert.deepEqual(
      ca.anchors.map((a) => a.serialNumber),
      [newRoot.serialNumber],
    );
  });
});

describe('mesh CA: SVIDs in real mutual TLS', () => {
  it('two SVIDs of one mesh shake hands; a certificate from another CA is refused', async () => {
    const ca = await openCa();
    const stranger = await openCa();
    const identity = async (authority: CertificateAuthority, service: string) => {
      const token = await authority.tokens.bootstrap(service);
      const keys = await generateKeyPair();
      const issued = await authority.certify(
        token,
        await createCsr(keys, `spiffe://${trustDomain}/svc/${service}`),
      );
      return {
        cert: issued.certificate,
        key: await privateKeyPem(keys.privateKey),
        ca: issued.trustBundle,
      };
    };
    const server = await identity(ca, 'payment');
    const peers: string[] = [];
    const tlsServer = createServer(
      { ...server, requestCert: true, rejectUnauthorized: true },
      (socket) => {
        peers.push(socket.getPeerCertificate().subjectaltname ?? '');
        socket.end('ok');
      },
    );
    tlsServer.on('tlsClientError', () => {});
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const port = (tlsServer.address() as { port: number }).port;
    const call = (client: { cert: string; key: string; ca: string }) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port,
          ...client,
          ca: server.ca,
          // Node's default check wants a DNS name; an SVID carries only its SPIFFE ID.
          checkServerIdentity: (_host, cert) =>
            cert.subjectaltname === `URI:${paymentId}` ? undefined : new Error('not payment'),
        });
        let data = '';
        socket.on('data', (chunk) => (data += chunk));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    try {
      assert.equal(await call(await identity(ca, 'fulfillment')), 'ok');
      assert.deepEqual(peers, [`URI:spiffe://${trustDomain}/svc/fulfillment`]);
      // In TLS 1.3 the client hears of the refusal as an alert or a closed socket.
      const outcome = await call(await identity(stranger, 'fulfillment')).catch(() => 'refused');
      assert.notEqual(outcome, 'ok');
      assert.equal(peers.length, 1, 'the server never accepted the stranger');
    } finally {
      tlsServer.close();
    }
  });
});
