import { connect } from 'node:net';

/** How to start each engine a test may need; printed when one is not answering. */
const engines = {
  redis: {
    port: 6379,
    start:
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  },
  nats: {
    port: 4222,
    start:
      'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
  },
  postgres: {
    port: 5432,
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  rabbitmq: { port: 5672, start: 'rabbitmq-server -detached' },
} as const;

export type Engine = keyof typeof engines;

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Throws at once, naming the engine and how to start it, when it is not listening. */
export async function requireEngine(engine: Engine): Promise<void> {
  const { port, start } = engines[engine];
  if (await answers(port)) return;
  throw new Error(
    `${engine} is not answering on 127.0.0.1:${port}; this test needs it. Start it with:\n  ${start}`,
  );
}
