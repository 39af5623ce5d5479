import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { defineCounter, metricsHandler } from '../../src/observe/index.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

describe('metricsHandler', () => {
  const registry = new Registry();
  const failing = new Registry();
  let base = '';
  let failingBase = '';
  const servers: Server[] = [];

  before(async () => {
    defineCounter({
      name: 'sluice_served_total',
      help: 'Served.',
      labelNames: ['route'],
      registry,
    }).inc({ route: '/a' }, 3);
    new Gauge({
      name: 'sluice_broken',
      help: 'A collector that fails.',
      registers: [failing],
      collect() {
        throw new Error('collector exploded');
      },
    });
    servers.push(createServer(metricsHandler(registry)), createServer(metricsHandler(failing)));
    [base, failingBase] = (await Promise.all(servers.map(listen))) as [string, string];
  });

  after(() => {
    for (const server of servers) server.close();
  });

  it('serves the registry in the Prometheus text format', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), registry.contentType);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.text();
    assert.match(body, /# TYPE sluice_served_total counter/);
    assert.match(body, /sluice_served_total\{route="\/a"\} 3/);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(base, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers.get('content-length')) > 0);
    assert.equal(await res.text(), '');
  });

  it('refuses other methods with 405 and an Allow header', async () => {
    const res = await fetch(base, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });

  it('turns a failing collector into a 500 naming the failure', async () => {
    const res = await fetch(failingBase);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /collector exploded/);
  });
});
