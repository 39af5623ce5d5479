import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createGunzip, gunzipSync } from 'node:zlib';
import { DashboardServer } from '../../src/dashboard/index.js';
import type { TelemetryStore } from '../../src/observe/store/index.js';
import {
  CONSUMER_TRACE,
  type FakeSources,
  fakeSources,
  PRODUCER_TRACE,
  storeWithTraffic,
} from './fixtures.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so that Host, Origin and Sec-Fetch-Site are exactly what the test says. */
function call(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      { method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let body = Buffer.concat(chunks);
          if (res.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: body.toString('utf8'),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * The first chunk of a page as it arrives (decompressed), and a promise of the rest: the
 * test holds the page's figures back until it has seen the head.
 */
function firstChunkThenRest(
  url: string,
  path: string,
  encoding: string,
): Promise<{ head: string; rest: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { headers: { 'accept-encoding': encoding } }, (res) => {
      const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
      body.setEncoding('utf8');
      let text = '';
      let rest: (text: string) => void = () => {};
      body.on('error', reject);
      body.on('data', (chunk: string) => {
        if (text === '')
          resolve({
            head: chunk,
            rest: new Promise((done) => {
              rest = done;
            }),
          });
        text += chunk;
      });
      body.on('end', () => rest(text));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard server', () => {
  let store: TelemetryStore;
  let sources: FakeSources;
  let server: DashboardServer;
  let url: string;
  const token = 'test-token-0123456789';

  before(async () => {
    store = storeWithTraffic();
    sources = fakeSources(store);
    server = new DashboardServer({ sources, port: 0, token, events: { tickMs: 50, tailMs: 20 } });
    await server.start();
    url = server.url!;
  });
  after(async () => {
    await server.stop();
    store.close();
  });

  it('serves every page, with a strict Content-Security-Policy', async () => {
    for (const page of [
      'traces',
      'logs',
      'services',
      'queues',
      'topology',
      'policies',
      'gateway',
    ]) {
      const answer = await call(url, `/${page}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(answer.status, 200, page);
      const policy = String(answer.headers['content-security-policy']);
      assert.match(policy, /script-src 'self';/);
      assert.doesNotMatch(policy, /unsafe-inline/);
      assert.match(answer.body, /<script src="\/assets\/htmx.js" defer><\/script>/);
      assert.doesNotMatch(answer.body, /<script>| style="/, `${page} has no inline script`);
      // The one inline stylesheet (two with charts) is allowed by its hash, and only by it.
      const styles = [...answer.body.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1]!);
      assert.equal(styles.length, page === 'queues' ? 2 : 1, page);
      for (const css of styles) {
        const hash = createHash('sha256').update(css).digest('base64');
        assert.ok(policy.includes(`'sha256-${hash}'`), `${page}: the policy allows its style`);
      }
      assert.equal(answer.body.includes('/assets/uplot.js'), page === 'queues', page);
      assert.match(answer.body, /<\/main>\n<\/body><\/html>$/, `${page} is whole`);
    }
  });

  // Without the head sent first, the page would wait for the figures the test holds back.
  it('sends the head of a page before its figures are read', { timeout: 20_000 }, async () => {
    let release: () => void = () => {};
    const figures = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiting = new DashboardServer({
      sources: {
        ...sources,
        status: async () => {
          await figures;
          return sources.status();
        },
      },
      port: 0,
      token,
    });
    await waiting.start();
    try {
      for (const encoding of ['gzip', 'identity']) {
        const { head, rest } = await firstChunkThenRest(waiting.url!, '/services', encoding);
        assert.match(head, /<nav>.*Services.*<\/nav>/s, encoding);
        assert.doesNotMatch(head, /service-orders/, `${encoding}: no figures in the head`);
        release();
        assert.match(await rest, /id="service-orders".*<\/html>$/s, encoding);
      }
    } finally {
      await waiting.stop();
    }
  });

  it('ends a page with the message of a failure after its head was sent', async () => {
    const failing = new DashboardServer({
      sources: {
        ...sources,
        status: async () => {
          throw new Error('the supervisor <went> away');
        },
      },
      port: 0,
      token,
    });
    await failing.start();
    try {
      const answer = await call(failing.url!, '/services', {
        headers: { 'accept-encoding': 'gzip' },
      });
      assert.equal(answer.status, 200);
      assert.match(
        answer.body,
        /<nav>.*<p class="badge err">the supervisor &lt;went&gt; away<\/p><\/main>\n<\/body><\/html>$/s,
      );
    } finally {
      await failing.stop();
    }
  });

  it('renders hostile log text and attributes inert', async () => {
    const pages = [
      await call(url, '/logs'),
      await call(url, `/traces/${PRODUCER_TRACE}`),
      await call(url, '/traces/live'),
    ];
    for (const page of pages) {
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.body, /<script>alert|<img src=x/);
    }
    assert.match(
      pages[0]!.body,
      /order placed &lt;script&gt;alert\(&quot;pwned&quot;\)&lt;\/script&gt;/,
    );
  });

  it('draws the trace and the trace linked across the queue hop as one waterfall, with their logs', async () => {
    const page = await call(url, `/traces/${PRODUCER_TRACE}`);
    assert.match(
      page.body,
      /queue hop through <strong>orders<\/strong>: linked trace <a href="\/traces\/b{32}">/,
    );
    assert.match(page.body, /process orders/);
    assert.match(page.body, /payment failed/, 'the logs of the linked trace are beside it');
    const consumer = await call(url, `/traces/${CONSUMER_TRACE}`);
    assert.match(
      consumer.body,
      /POST \/api\/orders/,
      'the producer side is found from the consumer too',
    );
    assert.equal((await call(url, `/traces/${'c'.repeat(32)}`)).status, 404);
    assert.equal((await call(url, '/traces/not-a-trace')).status, 404);
  });

  it('searches traces by service, status and attribute', async () => {
    const errors = await call(url, '/traces/live?status=error');
    assert.match(errors.body, /fulfillment process orders/);
    assert.doesNotMatch(errors.body, /orders POST/);
    const byAttribute = await call(url, '/traces/live?attr=http.route%3D%2Fapi%2Forders');
    assert.match(byAttribute.body, /\/traces\/a{32}/);
  });

  it('refuses cross-origin requests, rebinding hosts and other sites', async () => {
    const foreign = [
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { host: 'evil.example:80' },
    ];
    for (const headers of foreign) {
      const answer = await call(url, '/logs', { headers });
      assert.equal(answer.status, 403, JSON.stringify(headers));
    }
    const post = await call(url, '/actions/restart', {
      method: 'POST',
      headers: { origin: 'http://evil.example', authorization: `Bearer ${token}` },
      body: 'service=orders&instance=0',
    });
    assert.equal(post.status, 403);
    assert.deepEqual(sources.kills, [], 'nothing was killed');
    const sameOrigin = await call(url, '/logs', {
      headers: { origin: url, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(sameOrigin.status, 200);
  });

  it('takes actions only with the token', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const without = await call(url, '/actions/restart', {
      method: 'POST',
      headers: form,
      body: 'service=orders&instance=0',
    });
    assert.equal(without.status, 401);
    assert.match(without.body, /control token/);
    const wrong = await call(url, '/actions/restart', {
      method: 'POST',
      headers: { ...form, authorization: 'Bearer test-token-0123456780' },
      body: 'service=orders&instance=0',
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(sources.kills, []);
    const right = await call(url, '/actions/restart', {
      method: 'POST',
      headers: { ...form, authorization: `Bearer ${token}` },
      body: 'service=orders&instance=0',
    });
    assert.equal(right.status, 200, right.body);
    assert.match(right.body, /Killed orders\.0 \(pid 4242\)/);
    assert.deepEqual(sources.kills, [['orders', 0]]);
    const get = await call(url, '/actions/restart', {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(get.status, 405);
    const unknown = await call(url, '/actions/nope', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(unknown.status, 400);
    const noBroker = await call(url, '/actions/dlq/replay', {
      method: 'POST',
      headers: { ...form, authorization: `Bearer ${token}` },
      body: 'source=queue:orders&id=x',
    });
    assert.match(noBroker.body, /declares no messaging/);
  });

  it('serves the client pieces from node_modules, compressed and cached', async () => {
    for (const asset of [
      '/assets/htmx.js',
      '/assets/sse.js',
      '/assets/uplot.js',
      '/assets/app.js',
    ]) {
      const answer = await call(url, asset, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(answer.status, 200, asset);
      assert.equal(answer.headers['content-encoding'], 'gzip');
      const again = await call(url, asset, {
        headers: { 'if-none-match': String(answer.headers.etag) },
      });
      assert.equal(again.status, 304);
    }
    assert.equal((await call(url, '/assets/../package.json')).status, 404);
  });

  it('streams ticks and new log lines over one event stream, escaped', async () => {
    const tail = store.logs({ limit: 1 }).tail;
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(new URL(`/events?tail=logs&after=${tail}`, url), (res) => {
        let seen = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          seen += chunk;
          if (seen.includes('event: tick') && seen.includes('event: log')) {
            req.destroy();
            resolve(seen);
          }
        });
      });
      req.on('error', reject);
      req.end();
      setImmediate(() =>
        store.addLogs([
          {
            timeMs: Date.now(),
            service: 'billing',
            level: 'warn',
            message: 'tail <b>me</b>',
            attributes: {},
          },
        ]),
      );
    });
    assert.match(text, /event: log\nid: \d+\ndata: /);
    assert.match(text, /tail &lt;b&gt;me&lt;\/b&gt;/);
  });
});
