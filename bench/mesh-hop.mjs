// One hop of the mesh benchmark, as its own process: a Sluice sidecar fed by a static
// control plane, or the bare node:https + undici mTLS proxy it is compared with.
// Usage: node mesh-hop.mjs '<json options>'
import { readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';

const here = fileURLToPath(new URL('.', import.meta.url));
const o = JSON.parse(process.argv[2]);
const pem = (name) => readFileSync(join(o.dir, name), 'utf8');

async function sluiceMesh() {
  try {
    return await import(createRequire(join(here, 'package.json')).resolve('sluice/mesh'));
  } catch {
    return await import(pathToFileURL(join(here, '..', 'dist', 'mesh', 'index.js')).href);
  }
}

const identity = {
  spiffeId: `spiffe://bench.test/svc/${o.service}`,
  keyPem: pem(`${o.service}.key`),
  certPem: pem(`${o.service}.chain.pem`),
  trustBundlePem: pem('root.pem'),
  notAfter: new Date(Date.now() + 86_400_000),
};

if (o.kind === 'sidecar') {
  const { Sidecar } = await sluiceMesh();
  const control = {
    identity: () => identity,
    onIdentity: () => () => {},
    watch: (service, listener) => {
      listener(o.endpoints.filter((e) => e.service === service));
      return () => {};
    },
    register: async () => {},
    deregister: async () => {},
    close: async () => {},
  };
  const sidecar = new Sidecar({
    service: o.service,
    control,
    appPort: o.appPort ?? 1,
    listen: { host: '127.0.0.1', port: o.listenPort },
    upstreams: o.upstreams ?? [],
  });
  await sidecar.start();
  process.on('SIGTERM', () => sidecar.stop().then(() => process.exit(0)));
} else if (o.kind === 'bare-out') {
  // Plain HTTP in, mTLS out: what a minimal Node proxy does, no policies, no metrics.
  const pool = new Pool(`https://127.0.0.1:${o.peerPort}`, {
    connections: 128,
    connect: {
      key: identity.keyPem,
      cert: identity.certPem,
      ca: identity.trustBundlePem,
      checkServerIdentity: () => undefined,
    },
  });
  createHttp((req, res) => proxy(pool, req, res)).listen(o.listenPort, '127.0.0.1');
} else if (o.kind === 'bare-in') {
  const pool = new Pool(`http://127.0.0.1:${o.appPort}`, { connections: 128 });
  createHttps(
    {
      key: identity.keyPem,
      cert: identity.certPem,
      ca: identity.trustBundlePem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => proxy(pool, req, res),
  ).listen(o.listenPort, '127.0.0.1');
}

function proxy(pool, req, res) {
  pool.request({ method: req.method, path: req.url, headers: { host: 'upstream' } }).then(
    async ({ statusCode, body }) => {
      const data = Buffer.from(await body.arrayBuffer());
      res.writeHead(statusCode, { 'content-length': data.length });
      res.end(data);
    },
    () => {
      res.writeHead(502);
      res.end();
    },
  );
  req.resume();
}
