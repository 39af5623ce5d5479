import { defineCounter, defineGauge } from '../../../observe/metrics.js';

export const connectionUp = defineGauge<'connection'>({
  name: 'sluice_messaging_redis_connected',
  help: 'Redis driver connections of this process that are ready (0 while down or reconnecting)',
  labelNames: ['connection'],
});

export const reconnects = defineCounter<'connection'>({
  name: 'sluice_messaging_redis_reconnects_total',
  help: 'Times a Redis driver connection was re-established after being lost',
  labelNames: ['connection'],
});

export const published = defineCounter<'outcome'>({
  name: 'sluice_messaging_redis_published_total',
  help: 'Messages the Redis driver was asked to store, by outcome (stored, duplicate, failed)',
  labelNames: ['outcome'],
  labelValues: { outcome: ['stored', 'duplicate', 'failed'] },
});

export const consumerLag = defineGauge<'source'>({
  name: 'sluice_messaging_redis_consumer_lag',
  help: 'Messages of a queue or group not yet leased to a consumer, as of its last full claim (at least every sweep interval while consuming) or stats call',
  labelNames: ['source'],
});
