// What each gateway filter adds to one request, measured in process: the filter in front
// of a terminal handler that answers at once, minus the terminal alone. CPU per call, so
// the figures hold on a busy machine where end-to-end differences of a few µs drown.
import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { measure } from './lib.mjs';

const BODY = Buffer.from('{"ok":true,"items":[1,2,3]}');
const SECRET = 'bench-secret-bench-secret-bench-secret';

function hs256(payload) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

const token = (sub) => hs256({ sub, iss: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 });

function compileEnv(config) {
  const memos = new Map();
  return {
    config: { routes: [], ...config },
    baseDir: process.cwd(),
    workers: 1,
    registry: undefined,
    upstreams: new Map(),
    closers: [],
    policies: new Map(),
    limiters: new Map(),
    memo: (key, make) => {
      if (!memos.has(key)) memos.set(key, make());
      return memos.get(key);
    },
  };
}

/** Filter costs in µs per request; `source` is the built `sluice/gateway` entry point. */
export async function filterCosts(source) {
  const at = (file) => import(new URL(file, `file://${source}`).href);
  const { RequestContext } = await at('./context.js');
  const { requestIdOf } = await at('./request-id.js');
  const { exchangeRecorder } = await at('./telemetry.js');
  const { authFilter } = await at('./filters/auth.js');
  const { rateLimitFilter } = await at('./filters/rate-limit.js');
  const { headersFilter } = await at('./filters/headers.js');
  const { cacheFilter } = await at('./filters/cache.js');
  const { shapingFilter } = await at('./filters/shaping.js');
  const { tracingFilter } = await at('./filters/tracing.js');
  const observe = await at('../observe/index.js');

  const raw = { socket: { remoteAddress: '127.0.0.1' } };
  const terminal = () => ({
    status: 200,
    headers: { 'content-type': 'application/json', 'content-length': String(BODY.length) },
    body: BODY,
  });
  const call = (handler, headers = {}) => {
    const request = {
      method: 'GET',
      path: '/api/items',
      query: '?x=1',
      headers: { host: '127.0.0.1:8080', accept: '*/*', 'user-agent': 'wrk', ...headers },
      body: null,
      raw,
    };
    const context = new RequestContext('req-1', '127.0.0.1', 'route0', {});
    return handler(request, context);
  };
  const cost = async (op) => {
    const { cpuNsPerOp } = await measure(op, { iterations: 50_000, rounds: 5 });
    return cpuNsPerOp / 1000;
  };
  const route = { path: '/api/*', upstream: 'http://127.0.0.1:1' };
  const jwtEnv = compileEnv({
    auth: { jwt: { algorithms: ['HS256'], secret: SECRET, issuer: 'bench' } },
  });
  const base = await cost(() => call(terminal));
  const over = async (handler, headers) => (await cost(() => call(handler, headers))) - base;

  const rows = [];
  rows.push(['request id (generated)', await cost(() => requestIdOf(undefined))]);
  rows.push(['request id (client-sent)', await cost(() => requestIdOf('3f1b7c2e-req-id'))]);
  const bearer = `Bearer ${token('bench-user')}`;
  const jwt = authFilter({ ...route, auth: 'jwt' }, jwtEnv, 'route0')(terminal);
  rows.push(['auth jwt, HS256 (token seen before)', await over(jwt, { authorization: bearer })]);
  const fresh = Array.from({ length: 20_000 }, (_, i) => `Bearer ${token(`user-${i}`)}`);
  const freshJwt = authFilter({ ...route, auth: 'jwt' }, compileEnv(jwtEnv.config), 'r')(terminal);
  let i = 0;
  const firstSight = await measure(
    () => call(freshJwt, { authorization: fresh[i++ % fresh.length] }),
    {
      iterations: fresh.length / 4,
      rounds: 3,
    },
  );
  rows.push(['auth jwt, HS256 (first sight: signature)', firstSight.cpuNsPerOp / 1000 - base]);
  const limit = rateLimitFilter(
    { ...route, rateLimit: { by: 'ip', limit: '1000000000/s' } },
    compileEnv({}),
    'route0',
  )(terminal);
  rows.push(['rate limit (memory, by ip)', await over(limit)]);
  const rewrite = headersFilter({
    ...route,
    rewrite: { prefix: '/v1' },
    requestHeaders: {
      add: { 'x-env': 'bench' },
      remove: ['cookie'],
      rename: { accept: 'x-accept' },
    },
    responseHeaders: { add: { 'x-served-by': 'sluice' }, remove: ['server'] },
  })(terminal);
  rows.push(['header rewriting (prefix + 3 rules each way)', await over(rewrite)]);
  let primed = false;
  const cache = cacheFilter(
    { ...route, cache: { maxAge: '1h' } },
    compileEnv({}),
    'route0',
  )(() => {
    primed = true;
    return { status: 200, headers: terminal().headers, body: Readable.from([BODY]) };
  });
  await call(cache);
  if (!primed) throw new Error('cache was never filled');
  rows.push(['cache hit (answers instead of the upstream)', await over(cache)]);
  rows.push([
    'shaping, no body (always on)',
    await over(shapingFilter(route, compileEnv({}))(terminal)),
  ]);
  const record = exchangeRecorder({ metrics: true });
  const exchange = {
    requestId: 'req-1',
    method: 'GET',
    path: '/api/items',
    route: 'route0',
    upstream: 'http://127.0.0.1:1',
    status: 200,
    clientIp: '127.0.0.1',
    subject: undefined,
    cacheStatus: undefined,
    startedAt: 0,
    durationMs: 1.5,
  };
  rows.push(['metrics (counter + histogram per response)', await cost(() => record(exchange))]);
  // Last: setting up tracing installs a global tracer provider.
  const tracing = observe.setupTracing({
    serviceName: 'bench',
    sampleRatio: 0.1,
    // As the gateway runs: contexts passed explicitly, no AsyncLocalStorage.
    activeContext: false,
    exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} },
  });
  const traced = tracingFilter(route, compileEnv({}), 'route0')(terminal);
  rows.push(['tracing, 10% sampled', await over(traced)]);
  await tracing.shutdown();
  return rows;
}
