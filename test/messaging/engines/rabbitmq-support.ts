import { execFile } from 'node:child_process';
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
