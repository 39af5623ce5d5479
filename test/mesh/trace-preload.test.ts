import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const preload = resolve('src/mesh/trace-preload.ts');

// A service that, while handling a request, calls a sink with fetch, undici and node:http,
// and reports the traceparent each call carried.
const service = `
import http from 'node:http';
import { request } from 'undici';
const sink = http.createServer((req, res) => res.end(JSON.stringify(req.headers.traceparent ?? null)));
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const to = 'http://127.0.0.1:' + sink.address().port;
const viaHttp = () => new Promise((resolve) => http.get(to, (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => resolve(JSON.parse(b))); }));
const app = http.createServer(async (req, res) => {
  await new Promise((r) => setTimeout(r, 5));
  const fetched = JSON.parse(await (await fetch(to)).text());
  const undici = JSON.parse(await (await request(to)).body.text());
  res.end(JSON.stringify([fetched, undici, await viaHttp()]));
});
await new Promise((r) => app.listen(0, '127.0.0.1', r));
const url = 'http://127.0.0.1:' + app.address().port;
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const answers = await Promise.all([
  fetch(url, { headers: { traceparent } }).then((r) => r.json()),
  fetch(url).then((r) => r.json()),
  fetch(url, { headers: { traceparent: 'garbage' } }).then((r) => r.json()),
]);
console.log(JSON.stringify(answers));
app.close();
sink.close();
`;

describe('mesh trace preload', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(resolve('.'), 'node_modules', '.sluice-preload-'));
    writeFileSync(join(dir, 'service.mjs'), service);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("copies each inbound request's trace context to its outbound calls, and only its own", async () => {
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      '--import',
      preload,
      join(dir, 'service.mjs'),
    ]);
    const [traced, plain, garbage] = JSON.parse(stdout) as (string | null)[][];
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    assert.deepEqual(traced, [traceparent, traceparent, traceparent]);
    assert.deepEqual(plain, [null, null, null]);
    assert.deepEqual(garbage, [null, null, null]);
  });
});
