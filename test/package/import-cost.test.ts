import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';

// Lists what importing one subpath of the built package loads, in a fresh process: every ES
// module URL it resolves (through a resolve hook), every CommonJS file it requires and every
// native addon mapped into the process.
const probe = `
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const hook = \`let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}\`;
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (url) => urls.push(url));
register('data:text/javascript,' + encodeURIComponent(hook), { data: { port: port2 }, transferList: [port2] });
await import(process.argv[1]);
await new Promise((resolve) => setTimeout(resolve, 100));
port1.close();
const required = Object.keys(createRequire(import.meta.url).cache);
const natives = process.report.getReport().sharedObjects.filter((file) => file.endsWith('.node'));
console.log(JSON.stringify([...urls, ...required, ...natives]));
`;

function loadedBy(specifier: string): string[] {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe, specifier], {
    cwd: new URL('../../', import.meta.url),
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

const heavy = [
  /\.node$/,
  /node_modules\/better-sqlite3\//,
  /node_modules\/@opentelemetry\/(sdk-|exporter-|resources)/,
  /node_modules\/(ioredis|pg|pg-pool|amqplib|@nats-io\/[^/]+)\//,
];

describe('what importing a subpath loads', () => {
  // The gateway and observe load the OpenTelemetry SDK only once tracing is set up.
  for (const subpath of ['core', 'resilience', 'flow', 'observe', 'gateway']) {
    test(`sluice/${subpath} loads no native module, no OpenTelemetry SDK and no engine client`, () => {
      const loaded = loadedBy(`sluice/${subpath}`);
      assert.ok(
        loaded.some((file) => file.includes(`/dist/${subpath}/index.js`)),
        'probe saw nothing',
      );
      assert.deepEqual(
        loaded.filter((file) => heavy.some((pattern) => pattern.test(file))),
        [],
      );
    });
  }

  test('the probe sees what a heavy subpath loads, so the checks above mean something', () => {
    const loaded = loadedBy('sluice/runtime');
    assert.ok(loaded.some((file) => /node_modules\/better-sqlite3\//.test(file)));
  });
});
