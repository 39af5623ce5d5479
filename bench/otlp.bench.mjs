// Ingest cost of the telemetry store's OTLP/HTTP receiver (decode, convert, SQLite insert)
// beside a no-op HTTP sink that reads the same requests and answers 200: the baseline an
// exporter costs a collector-free setup. Each server runs alone in a child process, which
// reports its own CPU time; the parent sends the same exporter traffic to both, rounds
// alternating. Figures: spans/s (wall) and CPU µs per span in the server, medians.
// Usage (after `npm run build` at the root): cd bench && node otlp.bench.mjs
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { machine, median } from './lib.mjs';

const BATCH = 512;
const BATCHES = 40;
const ROUNDS = 5;

if (process.argv[2] === 'serve') await serve(process.argv[3]);
else await main();

async function serve(kind) {
  let handler;
  let dir;
  if (kind === 'receiver') {
    // The store is not a package subpath (yet): load it from the build.
    const { otlpHandler, TelemetryStore } = await import('../dist/observe/store/index.js');
    const { Registry } = await import('prom-client');
    dir = mkdtempSync(join(tmpdir(), 'otlp-bench-'));
    const store = new TelemetryStore({ path: join(dir, 'telemetry.db'), registry: new Registry() });
    handler = otlpHandler({ store });
  } else {
    handler = (req, res) => {
      req.on('data', () => {});
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    };
  }
  const server = createServer(handler);
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ cpuMicros: user + system });
    } else if (message === 'stop') {
      server.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

function start(kind) {
  const child = fork(new URL(import.meta.url), ['serve', kind], { stdio: 'inherit' });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  return next().then(({ port }) => ({
    url: `http://127.0.0.1:${port}`,
    cpu: async () => {
      const reply = next();
      child.send('cpu');
      return (await reply).cpuMicros;
    },
    stop: () => child.send('stop'),
  }));
}

/** Spans as a service exports them: server, producer and consumer spans with attributes. */
function makeSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'orders', 'service.instance.id': '0' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bench');
  const kinds = [SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.CLIENT];
  for (let i = 0; i < BATCH; i++) {
    const span = tracer.startSpan(`span ${i % 8}`, {
      kind: kinds[i % kinds.length],
      attributes: {
        'http.route': '/api/orders',
        'http.request.method': 'POST',
        'http.response.status_code': 201,
        'messaging.destination.name': 'orders',
        'messaging.message.id': `m-${i}`,
      },
    });
    span.end();
  }
  return exporter.getFinishedSpans();
}

async function main() {
  const spans = makeSpans();
  const protobuf = ProtobufTraceSerializer.serializeRequest(spans);
  const cases = {
    // The exporter Sluice's services use: OTLP/JSON over HTTP.
    'otlp/json (exporter-trace-otlp-http)': async (url) => {
      const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces` });
      for (let i = 0; i < BATCHES; i++) {
        await new Promise((resolve, reject) =>
          exporter.export(spans, (result) =>
            result.code === 0 ? resolve() : reject(result.error ?? new Error('export failed')),
          ),
        );
      }
      await exporter.shutdown();
    },
    'otlp/protobuf': async (url) => {
      for (let i = 0; i < BATCHES; i++) {
        const res = await fetch(`${url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: protobuf,
        });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`answered ${res.status}`);
      }
    },
  };
  const servers = { receiver: await start('receiver'), sink: await start('sink') };
  const rows = [];
  try {
    for (const [name, send] of Object.entries(cases)) {
      const figures = { receiver: { cpu: [], rate: [] }, sink: { cpu: [], rate: [] } };
      for (const kind of ['receiver', 'sink']) await send(servers[kind].url); // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        for (const kind of ['receiver', 'sink']) {
          const server = servers[kind];
          const cpu0 = await server.cpu();
          const t0 = process.hrtime.bigint();
          await send(server.url);
          const wallNs = Number(process.hrtime.bigint() - t0);
          const cpu = await server.cpu();
          const count = BATCH * BATCHES;
          figures[kind].cpu.push((cpu - cpu0) / count);
          figures[kind].rate.push((count * 1e9) / wallNs);
        }
      }
      for (const kind of ['receiver', 'sink']) {
        rows.push({
          case: name,
          impl: kind === 'receiver' ? 'sluice store' : 'no-op sink',
          cpuMicrosPerSpan: median(figures[kind].cpu),
          spansPerSec: median(figures[kind].rate),
        });
      }
    }
  } finally {
    servers.receiver.stop();
    servers.sink.stop();
  }
  console.log(`\n## OTLP ingest: the telemetry store's receiver beside a no-op sink`);
  console.log(
    `${machine()}; ${BATCHES} requests of ${BATCH} spans per round, median of ${ROUNDS}\n`,
  );
  console.log('| case | server | CPU µs/span | spans/s | CPU vs sink |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const sink = rows.find((r) => r.case === row.case && r.impl === 'no-op sink');
    const ratio =
      row === sink ? '' : `${(row.cpuMicrosPerSpan / sink.cpuMicrosPerSpan).toFixed(1)}x`;
    console.log(
      `| ${row.case} | ${row.impl} | ${row.cpuMicrosPerSpan.toFixed(2)} | ${Math.round(row.spansPerSec).toLocaleString('en-US')} | ${ratio} |`,
    );
  }
}
