import { parseArgs } from 'node:util';
import { parseDuration } from '../core/units.js';
import { ControlPlane } from '../mesh/control/control-plane.js';
import { policiesOf } from '../mesh/control/policies-of.js';
import { CertificateAuthority } from '../mesh/identity/authority.js';
import { caPath, readOptional } from '../mesh/identity/ca-files.js';
import { parseCertificates } from '../mesh/identity/certificates.js';
import { EXPIRY_WARNING_MS } from '../mesh/identity/expiry.js';
import { checkChain, expiries } from '../mesh/identity/verify.js';
import { collectProcessMetrics } from '../observe/registry.js';
import { loadSluiceConfig } from '../runtime/config/index.js';
import { UsageError } from './errors.js';

export const meshDefaults = {
  listen: '127.0.0.1:7400',
  store: './data/mesh.db',
  trustDomain: 'sluice.local',
  caDir: './data/mesh-ca',
} as const;

const caOptions = {
  'ca-dir': { type: 'string', default: meshDefaults.caDir },
  'trust-domain': { type: 'string', default: meshDefaults.trustDomain },
  'trust-bundle': { type: 'string' },
  'issuer-cert': { type: 'string' },
  'issuer-key': { type: 'string' },
} as const;

/** `sluice mesh control|check|token|rotate`. */
export async function runMesh(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'control') return runControl(rest);
  if (sub === 'check') return runCheck(rest);
  if (sub === 'token') return runToken(rest);
  if (sub === 'rotate') return runRotate(rest);
  throw new UsageError(
    `sluice mesh takes control, check, token or rotate${sub ? `, not "${sub}"` : ''}`,
  );
}

function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch {
    throw new UsageError(`--${flag} takes a duration such as 30s, 15m or 24h, not "${value}"`);
  }
}

function caFiles(values: {
  'trust-bundle'?: string;
  'issuer-cert'?: string;
  'issuer-key'?: string;
}) {
  const { 'trust-bundle': trustBundle, 'issuer-cert': issuer, 'issuer-key': issuerKey } = values;
  if (trustBundle === undefined && issuer === undefined && issuerKey === undefined)
    return undefined;
  if (!trustBundle || !issuer || !issuerKey) {
    throw new UsageError('give --trust-bundle, --issuer-cert and --issuer-key together');
  }
  return { trustBundle, issuer, issuerKey };
}

async function runControl(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...caOptions,
      listen: { type: 'string', default: meshDefaults.listen },
      store: { type: 'string', default: meshDefaults.store },
      'store-prefix': { type: 'string', default: 'sluice' },
      'leaf-ttl': { type: 'string' },
      'registration-ttl': { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
  });
  const listen = /^(.*):(\d+)$/.exec(values.listen);
  if (listen === null) throw new UsageError('--listen takes HOST:PORT, e.g. 0.0.0.0:7400');
  const readPolicies = async () =>
    values.config === undefined ? undefined : policiesOf(await loadSluiceConfig(values.config));
  const policies = await readPolicies();
  const files = caFiles(values);
  const leafTtlMs = duration('leaf-ttl', values['leaf-ttl']);
  const registrationTtlMs = duration('registration-ttl', values['registration-ttl']);
  collectProcessMetrics();
  const plane = await ControlPlane.start({
    host: listen[1]!.replace(/^\[(.*)\]$/, '$1'),
    port: Number(listen[2]),
    store: values.store,
    storePrefix: values['store-prefix'],
    trustDomain: values['trust-domain'],
    caDir: values['ca-dir'],
    ...(files === undefined ? {} : { caFiles: files }),
    ...(leafTtlMs === undefined ? {} : { leafTtlMs }),
    ...(registrationTtlMs === undefined ? {} : { registrationTtlMs }),
    ...(policies === undefined ? {} : { policies }),
  });
  console.log(`sluice mesh control plane on ${plane.url} (trust domain ${plane.ca.trustDomain})`);
  // SIGHUP: the CA files again (after `sluice mesh rotate`) and the policies of --config.
  process.on('SIGHUP', () => {
    void (async () => {
      await plane.reloadCa();
      const policies = await readPolicies();
      if (policies !== undefined) await plane.registry.setPolicies(policies);
      console.log('sluice mesh control plane: reloaded');
    })().catch((error: unknown) =>
      console.error(
        `sluice mesh control plane: reload refused, the old state stays: ${(error as Error).message}`,
      ),
    );
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await plane.close();
  return 0;
}

async function runCheck(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { ...caOptions, warn: { type: 'string' }, json: { type: 'boolean' } },
  });
  const warnMs = duration('warn', values.warn) ?? EXPIRY_WARNING_MS;
  const files = caFiles(values);
  const dir = values['ca-dir'];
  const bundleFile = files?.trustBundle ?? caPath(dir, 'trustBundle');
  const issuerFile = files?.issuer ?? caPath(dir, 'issuer');
  const [bundle, issuer] = await Promise.all([readOptional(bundleFile), readOptional(issuerFile)]);
  if (bundle === undefined || issuer === undefined) {
    console.error(`sluice mesh check: no CA at ${bundle === undefined ? bundleFile : issuerFile}`);
    return 1;
  }
  const anchors = parseCertificates(bundle);
  const issuerCert = parseCertificates(issuer)[0];
  if (anchors.length === 0 || issuerCert === undefined) {
    console.error('sluice mesh check: the trust bundle or the issuer file holds no certificate');
    return 1;
  }
  const now = Date.now();
  const problems = await checkChain({
    anchors,
    issuer: issuerCert,
    trustDomain: values['trust-domain'],
    now,
  });
  const list = expiries(anchors, issuerCert).map((e) => ({
    ...e,
    notAfter: e.notAfter.toISOString(),
    daysLeft: Math.floor((e.notAfter.getTime() - now) / 86_400_000),
    soon: e.notAfter.getTime() - now < warnMs,
  }));
  for (const e of list) {
    if (e.soon && e.daysLeft >= 0)
      problems.push(`the ${e.certificate} "${e.subject}" expires in ${e.daysLeft} days`);
  }
  if (values.json === true) {
    console.log(
      JSON.stringify({ ok: problems.length === 0, problems, certificates: list }, null, 2),
    );
  } else {
    for (const e of list)
      console.log(
        `${e.certificate.padEnd(7)} ${e.notAfter}  ${String(e.daysLeft).padStart(5)} days  ${e.subject}`,
      );
    for (const p of problems) console.log(`PROBLEM: ${p}`);
    console.log(problems.length === 0 ? 'ok' : `${problems.length} problem(s)`);
  }
  return problems.length === 0 ? 0 : 1;
}

async function runToken(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...caOptions,
      service: { type: 'string' },
      instance: { type: 'string' },
      ttl: { type: 'string', default: '15m' },
    },
  });
  if (values.service === undefined) throw new UsageError('sluice mesh token needs --service NAME');
  const files = caFiles(values);
  const ca = await CertificateAuthority.open({
    dir: values['ca-dir'],
    trustDomain: values['trust-domain'],
    ...(files === undefined ? {} : { files }),
  });
  const ttlMs = duration('ttl', values.ttl);
  console.log(
    await ca.tokens.bootstrap(values.service, {
      ...(values.instance === undefined ? {} : { instance: values.instance }),
      ...(ttlMs === undefined ? {} : { ttlMs }),
    }),
  );
  return 0;
}

async function runRotate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { ...caOptions, finish: { type: 'boolean' } },
  });
  const ca = await CertificateAuthority.open({
    dir: values['ca-dir'],
    trustDomain: values['trust-domain'],
  });
  if (values.finish === true) await ca.finishRotation();
  else await ca.rotateAnchor();
  console.log(
    `trust bundle now holds ${ca.anchors.length} root(s); running control planes load it within a minute (or on SIGHUP)`,
  );
  return 0;
}
