import protobuf from 'protobufjs';
import { SluiceError } from '../../core/errors.js';
// The OTLP messages, converted to protobufjs' JSON descriptor from the official
// opentelemetry-proto definitions (v1.11.0, Apache-2.0) so that nothing is fetched or
// compiled at run time.
import descriptor from './otlp-proto.json' with { type: 'json' };

export type OtlpSignal = 'traces' | 'logs' | 'metrics';

const root = protobuf.Root.fromJSON(descriptor);
const requestTypes: Record<OtlpSignal, protobuf.Type> = {
  traces: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
  logs: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
  metrics: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
};

export class OtlpPayloadError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SLUICE_OTLP_INVALID', message, options);
    this.name = 'OtlpPayloadError';
  }
}

export type OtlpEncoding = 'json' | 'protobuf';

/** `application/json` or `application/x-protobuf` (parameters ignored); anything else: none. */
export function encodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  return undefined;
}

/**
 * Decodes an OTLP export request. The result has the field names of OTLP/JSON in both
 * encodings; ids and numbers keep their encoding's types (hex string or bytes; number,
 * string or Long), which `otlp-records` reads either way.
 */
export function decodeOtlp(signal: OtlpSignal, body: Buffer, encoding: OtlpEncoding): unknown {
  if (encoding === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new OtlpPayloadError(`OTLP/JSON ${signal} request is not JSON`, { cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new OtlpPayloadError(`OTLP/JSON ${signal} request must be an object`);
    }
    return value;
  }
  try {
    return requestTypes[signal].decode(body);
  } catch (error) {
    throw new OtlpPayloadError(`OTLP/protobuf ${signal} request does not decode`, {
      cause: error,
    });
  }
}
