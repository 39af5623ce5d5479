// connect() to an engine that is down fails the same way on every networked driver: a
// SluiceError with code SLUICE_ENGINE_UNAVAILABLE, the engine's own error as its cause and
// no password in its message.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { connect } from '../../src/messaging/index.js';

/** A port nothing listens on: taken from the kernel, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const urls = {
  postgres: (port: number) => `postgres://sluice:secret-pw@127.0.0.1:${port}/sluice`,
  redis: (port: number) => `redis://:secret-pw@127.0.0.1:${port}`,
  nats: (port: number) => `nats://sluice:secret-pw@127.0.0.1:${port}`,
  rabbitmq: (port: number) => `amqp://sluice:secret-pw@127.0.0.1:${port}`,
};

for (const [driver, url] of Object.entries(urls)) {
  it(`${driver}: connect() to a closed port throws SLUICE_ENGINE_UNAVAILABLE`, async () => {
    const port = await closedPort();
    await assert.rejects(
      connect({ driver, url: url(port) } as Parameters<typeof connect>[0]),
      (error: unknown) => {
        assert.ok(isSluiceError(error, 'SLUICE_ENGINE_UNAVAILABLE'), String(error));
        assert.match((error as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.doesNotMatch((error as Error).message, /secret-pw/);
        assert.ok((error as Error).cause !== undefined, 'the engine error is kept as cause');
        return true;
      },
    );
  });
}
