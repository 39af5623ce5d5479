import { defineCounter, defineGauge } from '../../../observe/metrics.js';

export const connectionUp = defineGauge<'connection'>({
  name: 'sluice_messaging_nats_connected',
  help: '1 while the NATS driver connection is up, 0 while it is down or reconnecting',
  labelNames: ['connection'],
});

export const reconnects = defineCounter<'connection'>({
  name: 'sluice_messaging_nats_reconnects_total',
  help: 'Times a NATS driver connection was re-established after being lost',
  labelNames: ['connection'],
});

export const published = defineCounter<'outcome'>({
  name: 'sluice_messaging_nats_published_total',
  help: 'Messages the NATS driver was asked to store, by JetStream acknowledgement (stored, duplicate, failed)',
  labelNames: ['outcome'],
  labelValues: { outcome: ['stored', 'duplicate', 'failed'] },
});

export const consumerLag = defineGauge<'source'>({
  name: 'sluice_messaging_nats_consumer_lag',
  help: 'Messages of a queue or group not yet delivered to a consumer (JetStream num_pending), as of the last stats call',
  labelNames: ['source'],
});
