import { type Clock, systemClock } from '../../core/clock.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { caInvalid, tokenInvalid } from '../errors.js';
import { assertTrustDomain, serviceSpiffeId } from '../spiffe.js';
import { caPath, readOptional, tokenSecret, withCaLock, writeAtomic } from './ca-files.js';
import {
  createCaCertificate,
  createLeafCertificate,
  keyThumbprint,
  parseCertificates,
  pemOf,
} from './certificates.js';
import { checkCsr } from './csr.js';
import { TokenAuthority } from './tokens.js';
import { checkChain } from './verify.js';
import {
  type CryptoKey,
  type CryptoKeyPair,
  generateKeyPair,
  importKeyPair,
  privateKeyPem,
  type x509,
} from './x509.js';

const HOUR = 3600_000;
export const caDefaults = {
  rootTtlMs: 10 * 365 * 24 * HOUR,
  issuerTtlMs: 365 * 24 * HOUR,
  leafTtlMs: 24 * HOUR,
} as const;

export interface CertificateAuthorityOptions {
  /** Where the CA's files live, or are generated on first start and kept. */
  dir: string;
  trustDomain: string;
  /** Files the user provides instead of the directory's (PEM). */
  files?: { trustBundle?: string; issuer?: string; issuerKey?: string };
  leafTtlMs?: number;
  rootTtlMs?: number;
  issuerTtlMs?: number;
  clock?: Clock;
}

/** What a workload receives for a CSR. */
export interface IssuedIdentity {
  spiffeId: string;
  /** Leaf, then issuer. */
  certificate: string;
  trustBundle: string;
  notAfter: string;
  /** Renews this identity with the same key until it expires. */
  token: string;
}

/**
 * The mesh's CA: a trust anchor (root) and an issuer (intermediate) signed by it, from the
 * user's files or generated once into `dir`. It signs X.509-SVIDs for CSRs that come with a
 * token for the same service, and rotates the anchor with both roots in the bundle.
 */
export class CertificateAuthority {
  readonly trustDomain: string;
  readonly tokens: TokenAuthority;
  readonly #o: CertificateAuthorityOptions;
  readonly #clock: Clock;
  #anchors: x509.X509Certificate[] = [];
  #issuer!: x509.X509Certificate;
  #issuerKey!: CryptoKeyPair;

  private constructor(options: CertificateAuthorityOptions, tokens: TokenAuthority) {
    this.#o = options;
    this.trustDomain = options.trustDomain;
    this.#clock = options.clock ?? systemClock;
    this.tokens = tokens;
  }

  static async open(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    assertTrustDomain(options.trustDomain);
    const leafTtl = options.leafTtlMs ?? caDefaults.leafTtlMs;
    if (!(leafTtl >= 60_000)) throw new InvalidArgumentError('the leaf TTL must be at least 1 min');
    const secret = await withCaLock(options.dir, () => tokenSecret(options.dir));
    const ca = new CertificateAuthority(options, new TokenAuthority(secret, options.clock));
    await ca.reload();
    return ca;
  }

  get anchors(): readonly x509.X509Certificate[] {
    return this.#anchors;
  }

  get issuer(): x509.X509Certificate {
    return this.#issuer;
  }

  get trustBundlePem(): string {
    return pemOf(this.#anchors);
  }

  /** Reads the files again (after a rotation by another process), generating them if absent. */
  async reload(): Promise<void> {
    const { dir, files = {} } = this.#o;
    const userFiles = files.trustBundle ?? files.issuer ?? files.issuerKey;
    if (userFiles !== undefined) {
      if (!files.trustBundle || !files.issuer || !files.issuerKey) {
        throw caInvalid('a provided CA needs all three files: trust bundle, issuer and issuer key');
      }
      await this.#load(files.trustBundle, files.issuer, files.issuerKey);
      return;
    }
    await withCaLock(dir, async () => {
      if ((await readOptional(caPath(dir, 'issuer'))) === undefined) await this.#generate();
    });
    await this.#load(caPath(dir, 'trustBundle'), caPath(dir, 'issuer'), caPath(dir, 'issuerKey'));
  }

  async #load(bundleFile: string, issuerFile: string, issuerKeyFile: string): Promise<void> {
    const [bundle, issuer, key] = await Promise.all(
      [bundleFile, issuerFile, issuerKeyFile].map(async (file) => {
        const text = await readOptional(file);
        if (text === undefined) throw caInvalid(`the CA file ${file} is missing`);
        return text;
      }),
    );
    let anchors: x509.X509Certificate[];
    let issuerCert: x509.X509Certificate;
    let issuerKey: CryptoKeyPair;
    try {
      anchors = parseCertificates(bundle!);
      issuerCert = parseCertificates(issuer!)[0]!;
      issuerKey = await importKeyPair(key!);
    } catch (error) {
      throw caInvalid(`the CA files cannot be parsed: ${(error as Error).message}`, error);
    }
    if (anchors.length === 0 || issuerCert === undefined) {
      throw caInvalid('the trust bundle and the issuer file must each hold a certificate');
    }
    const problems = await checkChain({
      anchors,
      issuer: issuerCert,
      issuerKey: issuerKey.publicKey,
      trustDomain: this.trustDomain,
      now: this.#clock.now(),
    });
    if (problems.length > 0) throw caInvalid(`the CA is not usable: ${problems.join('; ')}`);
    this.#anchors = anchors;
    this.#issuer = issuerCert;
    this.#issuerKey = issuerKey;
  }

  async #generate(): Promise<void> {
    const { dir } = this.#o;
    const now = this.#clock.now();
    const rootKey = await generateKeyPair();
    const root = await this.#root(rootKey, now);
    const issuerKey = await generateKeyPair();
    const issuer = await this.#signIssuer(issuerKey.publicKey, root, rootKey.privateKey, now);
    await writeAtomic(caPath(dir, 'rootKey'), await privateKeyPem(rootKey.privateKey), true);
    await writeAtomic(caPath(dir, 'issuerKey'), await privateKeyPem(issuerKey.privateKey), true);
    await writeAtomic(caPath(dir, 'root'), pemOf([root]), false);
    await writeAtomic(caPath(dir, 'trustBundle'), pemOf([root]), false);
    await writeAtomic(caPath(dir, 'issuer'), pemOf([issuer]), false);
  }

  #root(keys: CryptoKeyPair, now: number): Promise<x509.X509Certificate> {
    return createCaCertificate({
      trustDomain: this.trustDomain,
      commonName: `sluice mesh root ${new Date(now).toISOString().slice(0, 10)}`,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      now,
      ttlMs: this.#o.rootTtlMs ?? caDefaults.rootTtlMs,
    });
  }

  #signIssuer(key: CryptoKey, root: x509.X509Certificate, rootKey: CryptoKey, now: number) {
    return createCaCertificate({
      trustDomain: this.trustDomain,
      commonName: 'sluice mesh issuer',
      publicKey: key,
      signingKey: rootKey,
      signer: root,
      now,
      ttlMs: Math.min(this.#o.issuerTtlMs ?? caDefaults.issuerTtlMs, root.notAfter.getTime() - now),
      pathLength: 0,
    });
  }

  /**
   * Signs an X.509-SVID for the CSR when the token allows it: a bootstrap token for the
   * service the CSR names, or the renewal token of an SVID for the same key.
   */
  async certify(token: string, csrPem: unknown): Promise<IssuedIdentity> {
    const claims = await this.tokens.verify(token);
    const spiffeId = serviceSpiffeId(this.trustDomain, claims.service);
    const csr = await checkCsr(csrPem, spiffeId);
    const thumbprint = keyThumbprint(csr.spki);
    if (claims.kind === 'renewal' && claims.keyThumbprint !== thumbprint) {
      throw tokenInvalid('a renewal token renews the key it was issued for, not another');
    }
    const now = this.#clock.now();
    const leaf = await createLeafCertificate({
      spiffeId,
      publicKey: csr.publicKey,
      issuer: this.#issuer,
      issuerKey: this.#issuerKey.privateKey,
      now,
      ttlMs: this.#o.leafTtlMs ?? caDefaults.leafTtlMs,
    });
    const renewal = await this.tokens.renewal(
      claims.service,
      claims.instance,
      thumbprint,
      leaf.notAfter.getTime(),
    );
    return {
      spiffeId,
      certificate: pemOf([leaf, this.#issuer]),
      trustBundle: this.trustBundlePem,
      notAfter: leaf.notAfter.toISOString(),
      token: renewal,
    };
  }

  /**
   * Starts an anchor rotation: a new root joins the bundle beside the old one, and the
   * issuer (same key, so SVIDs already out stay valid) is re-signed under the new root.
   * Needs the directory's root key; `finishRotation` later drops the old roots.
   */
  async rotateAnchor(): Promise<void> {
    const { dir } = this.#o;
    if (this.#o.files?.issuer !== undefined) {
      throw caInvalid('the CA comes from your files: rotate it with your own tooling');
    }
    await withCaLock(dir, async () => {
      const now = this.#clock.now();
      const rootKey = await generateKeyPair();
      const root = await this.#root(rootKey, now);
      const issuer = await this.#signIssuer(
        this.#issuerKey.publicKey,
        root,
        rootKey.privateKey,
        now,
      );
      const bundle = [root, ...this.#anchors.filter((a) => a.notAfter.getTime() > now)];
      await writeAtomic(caPath(dir, 'rootKey'), await privateKeyPem(rootKey.privateKey), true);
      await writeAtomic(caPath(dir, 'root'), pemOf([root]), false);
      await writeAtomic(caPath(dir, 'trustBundle'), pemOf(bundle), false);
      await writeAtomic(caPath(dir, 'issuer'), pemOf([issuer]), false);
    });
    await this.reload();
  }

  /** Ends a rotation: the bundle keeps only the root that signed the current issuer. */
  async finishRotation(): Promise<void> {
    const { dir } = this.#o;
    if (this.#o.files?.issuer !== undefined) {
      throw caInvalid('the CA comes from your files: rotate it with your own tooling');
    }
    const current = this.#anchors.filter((a) => a.subject === this.#issuer.issuer);
    const signer: x509.X509Certificate[] = [];
    for (const anchor of current) {
      if (await this.#issuer.verify({ publicKey: anchor.publicKey, signatureOnly: true })) {
        signer.push(anchor);
      }
    }
    if (signer.length === 0) throw caInvalid('no root in the bundle signed the issuer');
    await withCaLock(dir, () => writeAtomic(caPath(dir, 'trustBundle'), pemOf(signer), false));
    await this.reload();
  }
}
