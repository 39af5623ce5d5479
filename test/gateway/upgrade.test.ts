import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { hashApiKey } from '../../src/gateway/filters/api-key.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { configProblems, raw, rawSession, statusOf } from './helpers.js';

describe('gateway upgrade (WebSocket) passthrough', () => {
  let upstream: Server;
  let upgrades = 0;
  const plain: IncomingHttpHeaders[] = [];
  const upgraded: Duplex[] = [];
  let gw: Gateway;

  before(async () => {
    upstream = createServer((req, res) => {
      plain.push(req.headers);
      res.end(req.url === '/private/secret' ? 'SECRET' : 'plain');
    });
    upstream.on('upgrade', (req, socket) => {
      upgrades++;
      upgraded.push(socket);
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-seen-user: ${req.headers['x-api-key'] ?? '-'}\r\n\r\n`,
      );
      // Whatever comes through the tunnel is answered: a request for the secret included.
      socket.on('data', (chunk: Buffer) =>
        socket.write(chunk.includes('/private/secret') ? 'SECRET' : `echo:${chunk.toString()}`),
      );
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      auth: { apiKeys: { keys: [{ id: 'app', sha256: hashApiKey('k-1') }] } },
      routes: [
        { path: '/ws/open', upstream: url, upgrade: ['websocket'] },
        { path: '/ws/private', upstream: url, auth: 'apiKey', upgrade: ['websocket'] },
        { path: '/private/*', upstream: url, auth: 'apiKey' },
        { path: '/public', upstream: url },
      ],
    });
  });

  after(async () => {
    await gw.close();
    upstream.closeAllConnections();
    for (const socket of upgraded) socket.destroy();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('joins the client and upstream sockets after the 101', async () => {
    const { socket, until } = rawSession(gw.address.port);
    socket.write(
      'GET /ws/open HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n',
    );
    const head = await until(/\r\n\r\n/);
    assert.equal(statusOf(head), 101);
    assert.match(head, /x-request-id: /);
    socket.write('ping');
    await until(/echo:ping/);
    socket.destroy();
  });

  it('runs the route filters first: no credentials, no upgrade', async () => {
    const before = upgrades;
    const text = await raw(
      gw.address.port,
      'GET /ws/private HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n',
    );
    assert.equal(statusOf(text), 401);
    assert.equal(upgrades, before);
  });

  it('serves an Upgrade the route does not allow as plain HTTP: no tunnel past per-path auth', async () => {
    const before = upgrades;
    const attempts = [
      // h2c, never tunnelled; on a route that allows websocket neither
      [
        '/public',
        'h2c',
        'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nconnection: Upgrade, HTTP2-Settings',
      ],
      ['/ws/open', 'h2c', 'connection: Upgrade'],
      // websocket on a route that does not say so, and a protocol list with h2c in it
      ['/public', 'websocket', 'connection: Upgrade'],
      ['/ws/open', 'websocket, h2c', 'connection: Upgrade'],
    ];
    for (const [path, protocol, more] of attempts) {
      const seen = plain.length;
      const text = await raw(
        gw.address.port,
        `GET ${path} HTTP/1.1\r\nhost: x\r\nupgrade: ${protocol}\r\n${more}\r\n\r\n` +
          'GET /private/secret HTTP/1.1\r\nhost: x\r\n\r\n',
      );
      assert.equal(statusOf(text), 200, `${path} ${protocol}: ${text}`);
      assert.match(text, /connection: close/i);
      assert.match(text, /plain$/);
      assert.doesNotMatch(text, /SECRET|101/);
      assert.equal(plain.length, seen + 1, 'one plain request went upstream');
      const headers = plain.at(-1)!;
      assert.equal(headers.upgrade, undefined);
      assert.equal(headers['http2-settings'], undefined);
    }
    assert.equal(upgrades, before, 'no upgrade reached the upstream');
  });

  it('refuses a disallowed Upgrade that carries a body (400), sending nothing upstream', async () => {
    const seen = plain.length;
    const text = await raw(
      gw.address.port,
      'POST /public HTTP/1.1\r\nhost: x\r\nupgrade: h2c\r\nconnection: Upgrade\r\ncontent-length: 5\r\n\r\nhello',
    );
    assert.equal(statusOf(text), 400);
    assert.match(text, /upgrade-refused/);
    assert.equal(plain.length, seen);
  });

  it("refuses h2c in a route's upgrade list when the configuration loads", async () => {
    const { parseConfig } = await import('../../src/core/config/index.js');
    const { gatewayConfigSchema } = await import('../../src/gateway/config-schema.js');
    const problems = await configProblems(
      (async () =>
        parseConfig('routes: [{ path: /, upstream: "http://x", upgrade: [websocket, h2c] }]', {
          schema: gatewayConfigSchema,
        }))(),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /routes\[0\]\.upgrade\[1\]: .*never h2c/);
  });
});
