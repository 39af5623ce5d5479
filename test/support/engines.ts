import { exec } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { waitFor } from './wait-for.js';

/** Engines take a while to start or stop on a loaded machine. */
const patiently = { timeoutMs: 90_000, intervalMs: 50 };

const sh = promisify(exec);

/**
 * How to start each shared engine (CI starts them with these too: see start-engines.ts);
 * `start` is printed when one is down. Only RabbitMQ has a stop: its restart test stops the
 * shared node (a private one is too heavy), and the test runner runs that file alone.
 */
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
  // The node stays up while its application is stopped: start_app resumes it, and only a
  // node that is down needs rabbitmq-server.
  rabbitmq: {
    port: 5672,
    start: 'rabbitmqctl -q start_app 2>/dev/null || rabbitmq-server -detached',
    stop: 'rabbitmqctl -q stop_app',
  },
  // The management plugin's HTTP API, on the running node: enabling it starts it there
  // without a restart (and records it, so start_app starts it again). Run only while the
  // port is silent, as the command takes seconds even when the plugin is enabled already.
  rabbitmqManagement: {
    port: 15672,
    start: 'rabbitmq-plugins -q enable rabbitmq_management',
  },
} as const;

export type Engine = keyof typeof engines;

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
export function answers(port: number): Promise<boolean> {
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

/** Starts the engine unless it answers already, and waits until it does. */
export async function startEngine(engine: Engine): Promise<void> {
  const { port, start } = engines[engine];
  if (await answers(port)) return;
  await sh(start).catch(() => {});
  await waitFor(`${engine} to answer on :${port}`, () => answers(port), patiently);
}

/**
 * Stops the shared RabbitMQ node's application (other test runs may share it: keep the
 * outage short), runs `whileDown`, then starts it again and waits until it answers, even
 * when `whileDown` throws. Every other engine a test stops is a private one
 * (private-engine.ts).
 */
export async function restartRabbitmq(
  whileDown: () => Promise<void> = async () => {},
): Promise<void> {
  const { port, stop } = engines.rabbitmq;
  try {
    await sh(stop);
    await waitFor(
      'rabbitmq to stop answering on :5672',
      async () => !(await answers(port)),
      patiently,
    );
    await whileDown();
  } finally {
    await startEngine('rabbitmq');
  }
}
