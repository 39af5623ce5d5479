import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import {
  type ClientHttp2Session,
  connect,
  type IncomingHttpHeaders as Http2Headers,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

if (spawnSync('openssl', ['version']).status !== 0) {
  throw new Error(
    'these tests make certificates with the openssl command: apt-get install openssl',
  );
}

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The PEM text, for a client to trust. */
  cert: string;
  /** SHA-256 fingerprint as `X509Certificate.fingerprint256` and `getPeerCertificate()` give it. */
  fingerprint: string;
}

/**
 * Makes a throwaway self-signed certificate for localhost and 127.0.0.1, valid for a day,
 * as `<name>.pem` and `<name>.key` in `dir` (a test's temporary directory).
 */
export function makeCertificate(dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  selfSigned(certFile, keyFile, '/CN=localhost', [
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  const cert = readFileSync(certFile, 'utf8');
  return { certFile, keyFile, cert, fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** A new P-256 key and a self-signed certificate for `subject`, valid for a day. */
function selfSigned(certFile: string, keyFile: string, subject: string, extra: string[] = []) {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      subject,
      ...extra,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
}

export interface TestAuthority {
  certFile: string;
  keyFile: string;
  /** The PEM text, for a client to trust. */
  cert: string;
}

function newKeyRequest(keyFile: string, csrFile: string, subject: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      keyFile,
      '-out',
      csrFile,
    ],
    { stdio: 'ignore' },
  );
}

/** Signs `<name>.csr` with `ca` into `<name>.pem`, with the X.509 extensions given. */
function sign(dir: string, name: string, ca: TestAuthority, extensions: string): string {
  const certFile = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, extensions);
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      join(dir, `${name}.csr`),
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      String(Date.now()),
      '-days',
      '1',
      '-extfile',
      extFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return certFile;
}

/**
 * A throwaway CA, as `<name>.pem` and `<name>.key` in `dir`: a root, or an intermediate
 * when `issuer` signs it.
 */
export function makeAuthority(dir: string, name: string, issuer?: TestAuthority): TestAuthority {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  if (issuer === undefined) {
    selfSigned(certFile, keyFile, `/CN=${name}`);
  } else {
    newKeyRequest(keyFile, join(dir, `${name}.csr`), `/CN=${name}`);
    sign(
      dir,
      name,
      issuer,
      'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n',
    );
  }
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}

export interface ClientCertificate {
  /** PEM texts, as a client passes them to node:tls. */
  cert: string;
  key: string;
}

/** A client certificate for `subject` (openssl form, `/O=Storefront/CN=alice`) signed by `ca`. */
export function makeClientCertificate(
  dir: string,
  name: string,
  ca: TestAuthority,
  subject: string,
): ClientCertificate {
  const keyFile = join(dir, `${name}.key`);
  newKeyRequest(keyFile, join(dir, `${name}.csr`), subject);
  const certFile = sign(dir, name, ca, 'extendedKeyUsage=clientAuth\n');
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/** A server certificate for localhost and 127.0.0.1 signed by `ca` (no chain in the file). */
export function makeServerCertificate(
  dir: string,
  name: string,
  ca: TestAuthority,
): { certFile: string; keyFile: string } {
  const keyFile = join(dir, `${name}.key`);
  newKeyRequest(keyFile, join(dir, `${name}.csr`), '/CN=localhost');
  const extensions = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  return { certFile: sign(dir, name, ca, extensions), keyFile };
}

export interface SecureReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The fingerprint of the certificate the server presented. */
  fingerprint: string;
  /** What ALPN chose; `false` when nothing was offered. */
  alpn: string | false | null;
}

/** One HTTPS/1.1 request on a new connection that trusts only `ca`. */
export function httpsCall(
  url: string,
  ca: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** A client certificate to present. */
    client?: ClientCertificate;
  } = {},
): Promise<SecureReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ca,
        agent: false,
        ...options.client,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        const alpn = socket.alpnProtocol;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
            fingerprint,
            alpn,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An HTTP/2 session that trusts only `ca`, once connected. */
export function h2Connect(
  url: string,
  ca: string,
  client?: ClientCertificate,
): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { ca, ...client });
    session.once('connect', () => {
      session.off('error', reject);
      resolve(session);
    });
    session.once('error', reject);
  });
}

export interface H2Reply {
  status: number;
  headers: Http2Headers;
  text: string;
}

/** One HTTP/2 request; `body` chunks are written one by one, then the stream is ended. */
export function h2Call(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: readonly string[] = [],
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body.length === 0 });
    let responseHeaders: Http2Headers = {};
    stream.once('response', (h) => {
      responseHeaders = h;
    });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () =>
      resolve({
        status: Number(responseHeaders[':status']),
        headers: responseHeaders,
        text: Buffer.concat(chunks).toString(),
      }),
    );
    stream.once('error', reject);
    for (const chunk of body) stream.write(chunk);
    if (body.length > 0) stream.end();
  });
}
