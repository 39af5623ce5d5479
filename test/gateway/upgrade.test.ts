import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { hashApiKey } from '../../src/gateway/filters/api-key.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { raw, statusOf } from './helpers.js';

describe('gateway upgrade (WebSocket) passthrough', () => {
  let upstream: Server;
  let upgrades = 0;
  const upgraded: Duplex[] = [];
  let gw: Gateway;

  before(async () => {
    upstream = createServer((_, res) => res.end('plain'));
    upstream.on('upgrade', (req, socket) => {
      upgrades++;
      upgraded.push(socket);
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-seen-user: ${req.headers['x-api-key'] ?? '-'}\r\n\r\n`,
      );
      socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()}`));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gw = await Gateway.start({
      listen: 0,
      metrics: false,
      auth: { apiKeys: { keys: [{ id: 'app', sha256: hashApiKey('k-1') }] } },
      routes: [
        { path: '/ws/open', upstream: url },
        { path: '/ws/private', upstream: url, auth: 'apiKey' },
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
    const socket = connect({ host: '127.0.0.1', port: gw.address.port });
    socket.setEncoding('utf8');
    let data = '';
    const got = (text: string) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (data.includes(text)) resolve();
          else
            socket.once('data', (c: string) => {
              data += c;
              check();
            });
        };
        check();
      });
    socket.write(
      'GET /ws/open HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n',
    );
    await got('\r\n\r\n');
    assert.equal(statusOf(data), 101);
    assert.match(data, /x-request-id: /);
    socket.write('ping');
    await got('echo:ping');
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
});
