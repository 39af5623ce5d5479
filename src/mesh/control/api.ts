import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../../core/errors.js';
import { MeshError, tokenInvalid } from '../errors.js';
import type { CertificateAuthority } from '../identity/authority.js';
import type { TokenClaims } from '../identity/tokens.js';
import { isServiceName } from '../spiffe.js';
import { bearer, readJson, sendError, sendJson, sendProblem } from './http.js';
import type { EndpointsSnapshot, Registry } from './registry.js';
import { EventStream } from './sse.js';

export interface ControlApiOptions {
  ca: CertificateAuthority;
  registry: Registry;
  /** Subscribes to trust-bundle changes (anchor rotation), for the watch streams. */
  onBundle: (listener: (trustBundle: string) => void) => () => void;
  /** Every open watch stream, so closing the control plane can cut them. */
  streams: Set<ServerResponse>;
  /** Serves GET /metrics. */
  metrics?: (req: IncomingMessage, res: ServerResponse) => void;
}

const MAX_WAIT_MS = 60_000;
const instancePath = /^\/v1\/services\/([^/]+)\/instances\/([^/]+)(\/heartbeat)?$/;
const servicePath = /^\/v1\/services\/([^/]+)\/(endpoints|policy|watch)$/;

/**
 * The control plane's HTTP API. Every call but the trust bundle needs a mesh token
 * (bootstrap or renewal); writes about a service need a token for that service.
 *
 * - `POST /v1/identity {csr}`: an X.509-SVID for the token's service
 * - `GET /v1/trust-bundle`: the roots every sidecar trusts
 * - `PUT|DELETE /v1/services/:s/instances/:i`, `POST …/heartbeat`: the registry
 * - `GET /v1/services/:s/endpoints?after=VERSION&wait=30`: long poll
 * - `GET /v1/services/:s/policy`, `GET /v1/services/:s/watch` (SSE: endpoints, policy, bundle)
 */
export function controlApi(options: ControlApiOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => res.destroy());
    res.on('error', () => {});
    route(options, req, res).catch((error: unknown) => sendError(res, error));
  };
}

async function route(o: ControlApiOptions, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://control');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path === '/healthz' || path === '/ready') return sendJson(res, 200, { status: 'ok' });
  if (path === '/metrics' && o.metrics !== undefined) return o.metrics(req, res);
  if (path === '/v1/trust-bundle') {
    if (method !== 'GET') return notAllowed(res, 'GET');
    return sendJson(res, 200, bundleOf(o.ca));
  }
  if (path === '/v1/identity') {
    if (method !== 'POST') return notAllowed(res, 'POST');
    const body = (await readJson(req)) as { csr?: unknown } | null;
    return sendJson(res, 200, await o.ca.certify(requireToken(req), body?.csr));
  }
  const instance = instancePath.exec(path);
  if (instance !== null) {
    const service = decodeURIComponent(instance[1]!);
    const name = decodeURIComponent(instance[2]!);
    const claims = await allowed(o, req, service, name);
    if (instance[3] !== undefined) {
      if (method !== 'POST') return notAllowed(res, 'POST');
      if (!(await o.registry.heartbeat(service, name))) {
        throw new MeshError('SLUICE_MESH_NOT_REGISTERED', `${service}/${name} is not registered`);
      }
      return sendJson(res, 200, { ttlMs: o.registry.ttlMs });
    }
    if (method === 'DELETE') {
      await o.registry.deregister(service, name);
      return sendJson(res, 204, null);
    }
    if (method !== 'PUT') return notAllowed(res, 'PUT, DELETE');
    const body = await readJson(req);
    if (typeof body !== 'object' || body === null) {
      throw new InvalidArgumentError('the body is { address, labels, healthy }');
    }
    await o.registry.register({ ...body, service, instance: name } as never);
    return sendJson(res, 200, { ttlMs: o.registry.ttlMs, service: claims.service });
  }
  const view = servicePath.exec(path);
  if (view !== null) {
    if (method !== 'GET') return notAllowed(res, 'GET');
    const service = decodeURIComponent(view[1]!);
    if (!isServiceName(service))
      throw new InvalidArgumentError(`"${service}" is not a service name`);
    await o.ca.tokens.verify(requireToken(req));
    if (view[2] === 'policy') return sendJson(res, 200, await o.registry.policy(service));
    if (view[2] === 'watch') return watch(o, service, res);
    return longPoll(o.registry, service, url, res);
  }
  sendProblem(res, 404, 'SLUICE_NOT_FOUND', `No ${method} ${path} here; the API is under /v1`);
}

function bundleOf(ca: CertificateAuthority) {
  return {
    trustDomain: ca.trustDomain,
    trustBundle: ca.trustBundlePem,
    anchors: ca.anchors.map((a) => ({ subject: a.subject, notAfter: a.notAfter.toISOString() })),
  };
}

function requireToken(req: IncomingMessage): string {
  const token = bearer(req);
  if (token === undefined) throw tokenInvalid('send the mesh token as "Authorization: Bearer …"');
  return token;
}

async function allowed(
  o: ControlApiOptions,
  req: IncomingMessage,
  service: string,
  instance: string,
) {
  const claims: TokenClaims = await o.ca.tokens.verify(requireToken(req));
  if (
    claims.service !== service ||
    (claims.instance !== undefined && claims.instance !== instance)
  ) {
    const whose =
      claims.instance === undefined ? claims.service : `${claims.service}/${claims.instance}`;
    throw new MeshError(
      'SLUICE_MESH_FORBIDDEN',
      `this token is for ${whose}, not ${service}/${instance}`,
    );
  }
  return claims;
}

function watch(o: ControlApiOptions, service: string, res: ServerResponse): void {
  const stops: (() => void)[] = [() => o.streams.delete(res)];
  o.streams.add(res);
  const stream = new EventStream(res, () => {
    for (const stop of stops) stop();
  });
  stream.send('bundle', bundleOf(o.ca));
  stops.push(o.registry.watchEndpoints(service, (s) => stream.send('endpoints', s)));
  stops.push(o.registry.watchPolicy(service, (s) => stream.send('policy', s)));
  stops.push(o.onBundle(() => stream.send('bundle', bundleOf(o.ca))));
}

/** Answers at once when the set differs from `after`, else when it changes or `wait` ends. */
function longPoll(registry: Registry, service: string, url: URL, res: ServerResponse): void {
  const after = url.searchParams.get('after');
  const waitSeconds = Number(url.searchParams.get('wait') ?? '30');
  if (!(waitSeconds >= 0)) throw new InvalidArgumentError('wait is a number of seconds');
  const waitMs = Math.min(waitSeconds * 1000, MAX_WAIT_MS);
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let stop = () => {};
  const answer = (snapshot: EndpointsSnapshot) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    queueMicrotask(() => stop());
    sendJson(res, 200, snapshot);
  };
  stop = registry.watchEndpoints(service, (snapshot) => {
    if (after === null || snapshot.version !== after) answer(snapshot);
    else if (timer === undefined) timer = setTimeout(() => answer(snapshot), waitMs);
  });
  res.on('close', () => {
    done = true;
    clearTimeout(timer);
    stop();
  });
}

function notAllowed(res: ServerResponse, allow: string): void {
  sendProblem(res, 405, 'SLUICE_METHOD_NOT_ALLOWED', `Use ${allow}`, { allow });
}
