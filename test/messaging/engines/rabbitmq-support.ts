import { execFile } from 'node:child_process';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import amqp from 'amqplib';

export const rabbitUrl = 'amqp://guest:guest@127.0.0.1:5672';

function list(kind: 'list_queues' | 'list_exchanges', prefix: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('rabbitmqctl', ['-q', kind, 'name'], (error, stdout) => {
      resolve(error ? [] : stdout.split('\n').filter((n) => n.startsWith(`${prefix}/`)));
    });
  });
}

/** Deletes every queue and exchange a test run declared under its prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const queues = await list('list_queues', prefix);
  const exchanges = await list('list_exchanges', prefix);
  const connection = await amqp.connect(rabbitUrl);
  const channel = await connection.createChannel();
  for (const name of queues) await channel.deleteQueue(name);
  for (const name of exchanges) await channel.deleteExchange(name);
  await connection.close();
}

/**
 * Forwards to RabbitMQ until cut; while cut, refuses new connections at once. While held,
 * what the client sends still reaches the broker, but nothing comes back (a confirm lost on
 * the way).
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  #held = false;

  constructor() {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = connectTcp({ host: '127.0.0.1', port: 5672 });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.#sockets.delete(s));
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!this.#held) client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as { port: number }).port;
  }

  hold(): void {
    this.#held = true;
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#cut = false;
    this.#held = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
