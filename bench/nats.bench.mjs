// The nats messaging driver beside the raw JetStream client doing the same work on the
// same local server: a work-queue stream, a durable pull consumer with explicit acks, one
// ack per message (not awaited, as the driver's are not), each publish awaiting its PubAck.
// Both carry a message id in a header (the driver's in its Sluice-Meta JSON header, raw's
// in a plain one) and neither asks the server to de-duplicate generated ids. The driver also
// keeps a lease per delivery and sends a wake-up per turn of the event loop. Raw consumes
// with the client's own long-lived pull (`consume`); the driver pulls with no_wait requests
// so that it never holds messages it did not ask for. Both connect with noAsyncTraces (no
// Error made up front per request); raw awaits each PubAck through js.publish, the driver
// on one reply inbox of its own (no request object, timer or cancel Error per message).
// Run: npm run build (in the package), then from bench/: node nats.bench.mjs [--quick]
// [--rounds N] [--messages N]   (SLUICE_DIST=<dir> to use another build of the package).
// The @nats-io packages are resolved from the package's own optional dependencies.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { engineSettings, payload, printEngineTable, runRounds } from './engine-harness.mjs';

const dist = process.env.SLUICE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { connect } = await import(`${dist}/messaging/index.js`);
const { openNatsDriver } = await import(`${dist}/messaging/drivers/nats/driver.js`);
const fromPackage = createRequire(`${dist}/`);
const load = (name) => import(pathToFileURL(fromPackage.resolve(name)).href);
const { connect: natsConnect, headers } = await load('@nats-io/transport-node');
const { jetstream, jetstreamManager } = await load('@nats-io/jetstream');

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const settings = engineSettings();
const { prefetch } = settings;
const prefix = `bench${process.pid}x${Date.now().toString(36)}`;

/** Stream names take no '-': rounds are numbered from 0 after the warm-up's. */
const tag = (run) => `${prefix}${run.round + 1}`;

async function sluice(run) {
  const driver = await openNatsDriver(url, { prefix: `${tag(run)}s` });
  const broker = await connect({ driver });
  const figures = await run.broker(broker);
  await driver.dropAll();
  await broker.close();
  return figures;
}

async function raw(run) {
  const nc = await natsConnect({ servers: url, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = (q) => ({
    name: `${tag(run)}r_${q}`,
    subjects: [`${tag(run)}r.${q}`],
    retention: 'workqueue',
  });
  for (const q of ['pub', 'e2e']) await jsm.streams.add(stream(q));
  const send = (q, i) => {
    const h = headers();
    h.set('Msg-Id', `${q}-${i}`);
    return js.publish(`${tag(run)}r.${q}`, JSON.stringify(payload(i)), { headers: h });
  };
  const published = await run.publishing((i) => send('pub', i));
  await jsm.consumers.add(stream('e2e').name, { durable_name: 'work', ack_policy: 'explicit' });
  const e2e = await run.endToEnd(
    async (onMessage) => {
      const consumer = await js.consumers.get(stream('e2e').name, 'work');
      const messages = await consumer.consume({ max_messages: prefetch });
      const loop = (async () => {
        for await (const m of messages) {
          onMessage(m.json().at);
          m.ack();
        }
      })();
      return async () => {
        await messages.close();
        await loop;
      };
    },
    (i) => send('e2e', i),
  );
  for (const q of ['pub', 'e2e']) await jsm.streams.delete(stream(q).name);
  await nc.close();
  return { ...published, ...e2e };
}

printEngineTable(
  'nats messaging: sluice, raw JetStream',
  await runRounds({ sluice, 'raw jetstream': raw }, settings),
  settings,
);
