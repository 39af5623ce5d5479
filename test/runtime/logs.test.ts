import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { LogSink } from '../../src/runtime/index.js';
import { waitFor } from '../support/wait-for.js';

function sink(format: 'pretty' | 'json', color = false): { sink: LogSink; lines: string[] } {
  const lines: string[] = [];
  return { sink: new LogSink({ format, color, write: (line) => lines.push(line) }), lines };
}

describe('LogSink', () => {
  test('pretty: a coloured prefix per service, aligned, JSON lines read as level and message', () => {
    const { sink: pretty, lines } = sink('pretty', true);
    pretty.line({ service: 'orders', instance: 1 }, 'plain text');
    pretty.line({ service: 'payment-service' }, '{"level":40,"msg":"slow","extra":1}');
    pretty.line({ service: 'orders', instance: 0 }, 'again');
    assert.equal(lines[0], '\u001b[36morders.1 |\u001b[0m plain text\n');
    assert.equal(lines[1], '\u001b[33mpayment-service |\u001b[0m WARN slow extra=1\n');
    assert.equal(
      lines[2],
      '\u001b[36morders.0        |\u001b[0m again\n',
      'same colour, wider column',
    );
  });

  test('pretty shows every field of a JSON line, as complete as the JSON', () => {
    const { sink: pretty, lines } = sink('pretty');
    const record = {
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      pid: 12,
      msg: 'payment breaker',
      from: 'closed',
      to: 'open',
      reason: 'failure rate 60% over 20 calls',
      err: { type: 'Error', message: 'say "no"' },
      tags: ['a', 'b'],
      empty: '',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    };
    pretty.line({ service: 'fulfillment' }, JSON.stringify(record));
    assert.equal(
      lines[0],
      'fulfillment | 03:04:05.678 WARN payment breaker pid=12 from=closed to=open ' +
        'reason="failure rate 60% over 20 calls" err.type=Error err.message="say \\"no\\"" ' +
        'tags=["a","b"] empty="" trace_id=4bf92f3577b34da6a3ce929d0e0e4736\n',
    );
  });

  test('every line reaches the record listeners as JSON-shaped records, in either format', () => {
    const { sink: pretty } = sink('pretty');
    const records: Record<string, unknown>[] = [];
    const stop = pretty.onRecord((r) => records.push(r));
    pretty.line({ service: 'a', instance: 1 }, '{"level":50,"msg":"bad","k":2}');
    pretty.line({ service: 'a' }, 'plain', 'stderr');
    stop();
    pretty.line({ service: 'a' }, 'not seen');
    assert.deepEqual(records[0], { level: 50, msg: 'bad', k: 2, service: 'a', instance: 1 });
    assert.equal(records[1]!.msg, 'plain');
    assert.equal(records[1]!.level, 50);
    assert.equal(records.length, 2);
  });

  test('pretty without colour on a pipe', () => {
    const { sink: plain, lines } = sink('pretty');
    plain.line({ service: 'a' }, 'x');
    assert.equal(lines[0], 'a      | x\n');
  });

  test('json: own JSON kept with service added; other lines wrapped, stderr as errors', () => {
    const { sink: json, lines } = sink('json');
    json.line({ service: 'a', instance: 0 }, '{"level":30,"msg":"hi","service":"spoofed","k":1}');
    json.line({ service: 'a', instance: 0 }, 'oops', 'stderr');
    json.line({ service: 'a', instance: 0 }, '[1,2]');
    const [own, wrapped, array] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(own, { level: 30, msg: 'hi', service: 'a', k: 1, instance: 0 });
    assert.equal(wrapped!.level, 50);
    assert.equal(wrapped!.msg, 'oops');
    assert.equal(array!.msg, '[1,2]', 'only objects pass through');
  });

  test('the supervisor destination keeps the service a line is about', () => {
    const { sink: json, lines } = sink('json');
    const destination = json.destination('sluice');
    destination.write('{"level":30,"msg":"up"}\n');
    destination.write('{"level":40,"msg":"a.0 restarting","service":"a"}\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { service: string }).service),
      ['sluice', 'a'],
    );
  });

  test('attach splits a stream into lines, partial lines included', async () => {
    const { sink: json, lines } = sink('json');
    const stream = new PassThrough();
    json.attach(stream, { service: 'a' }, 'stdout');
    stream.write('one\ntw');
    stream.end('o\nthree');
    await waitFor('three lines', () => lines.length === 3);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['one', 'two', 'three'],
    );
  });
});
