import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  type Context,
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { extractContext, injectContext } from '../../src/observe/index.js';

const sender: SpanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
  traceState: new TraceState('vendor=abc,other=1'),
};
const senderContext = trace.setSpanContext(ROOT_CONTEXT, sender);
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function remoteParent(context: Context): SpanContext | undefined {
  return trace.getSpanContext(context);
}

/** Sends `headers` over a real HTTP request and returns what node's parser made of them. */
async function receivedHeaders(headers: Record<string, string>): Promise<IncomingHttpHeaders> {
  let received: IncomingHttpHeaders = {};
  const server = createServer((req, res) => {
    received = req.headers;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await (await fetch(`http://127.0.0.1:${port}/`, { headers })).text();
  } finally {
    server.close();
  }
  return received;
}

describe('injectContext', () => {
  it('writes traceparent and tracestate for the given context and returns the carrier', () => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    assert.equal(injectContext(headers, senderContext), headers);
    assert.deepEqual(headers, {
      'content-type': 'application/json',
      traceparent: TRACEPARENT,
      tracestate: 'vendor=abc,other=1',
    });
  });

  it('writes nothing without a valid span context', () => {
    const headers: Record<string, string> = {};
    injectContext(headers);
    injectContext(headers, ROOT_CONTEXT);
    injectContext(
      headers,
      trace.setSpanContext(ROOT_CONTEXT, { ...sender, traceId: '0'.repeat(32) }),
    );
    assert.deepEqual(headers, {});
  });
});

describe('extractContext', () => {
  it('round-trips through message headers', () => {
    const headers = injectContext({}, senderContext);
    const parent = remoteParent(extractContext(headers));
    assert.equal(parent?.traceId, sender.traceId);
    assert.equal(parent?.spanId, sender.spanId);
    assert.equal(parent?.traceFlags, TraceFlags.SAMPLED);
    assert.equal(parent?.isRemote, true);
    assert.equal(parent?.traceState?.get('vendor'), 'abc');
  });

  it('round-trips through HTTP headers as node parses them', async () => {
    const headers = await receivedHeaders(injectContext({}, senderContext));
    const parent = remoteParent(extractContext(headers));
    assert.equal(parent?.traceId, sender.traceId);
    assert.equal(parent?.spanId, sender.spanId);
    assert.equal(parent?.traceState?.serialize(), 'vendor=abc,other=1');
  });

  it('finds message headers whatever the key case', () => {
    const parent = remoteParent(extractContext({ Traceparent: TRACEPARENT, TraceState: 'k=v' }));
    assert.equal(parent?.traceId, sender.traceId);
    assert.equal(parent?.traceState?.get('k'), 'v');
  });

  it('takes the first of repeated traceparent values and merges tracestate values', () => {
    const parent = remoteParent(
      extractContext({
        traceparent: [TRACEPARENT, '00-11111111111111111111111111111111-2222222222222222-01'],
        tracestate: ['a=1', 'b=2'],
        'x-other': undefined,
      }),
    );
    assert.equal(parent?.traceId, sender.traceId);
    assert.equal(parent?.traceState?.serialize(), 'a=1,b=2');
  });

  it('ignores malformed traceparent values and keeps the given parent', () => {
    const fallback = trace.setSpanContext(ROOT_CONTEXT, {
      ...sender,
      traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    });
    const malformed = [
      '',
      'garbage',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz',
      `00-${'4'.repeat(5000)}`,
    ];
    for (const traceparent of malformed) {
      assert.equal(
        remoteParent(extractContext({ traceparent, tracestate: 'a=1' })),
        undefined,
        traceparent,
      );
      assert.equal(extractContext({ traceparent }, fallback), fallback, traceparent);
    }
    assert.equal(remoteParent(extractContext({})), undefined);
    assert.equal(remoteParent(extractContext({ traceparent: [] })), undefined);
  });
});
