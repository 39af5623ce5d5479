import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePorts, listen } from '../../src/runtime/ports.js';

test('freePorts hands out distinct ports, each free to bind once it returns', async () => {
  const ports = await freePorts('127.0.0.1', 64);
  assert.equal(ports.length, 64);
  assert.equal(new Set(ports).size, 64, 'no port is handed out twice');
  const servers = ports.map(() => createServer());
  try {
    const bound = await Promise.all(servers.map((s, i) => listen(s, ports[i]!, '127.0.0.1')));
    assert.deepEqual(bound, ports);
  } finally {
    for (const server of servers) server.close();
  }
});

test('freePorts reports a host it cannot bind', async () => {
  await assert.rejects(freePorts('192.0.2.1', 2), { code: 'EADDRNOTAVAIL' });
});
