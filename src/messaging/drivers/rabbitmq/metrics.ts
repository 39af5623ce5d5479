import { defineCounter, defineGauge } from '../../../observe/metrics.js';

export const connectionUp = defineGauge<'connection'>({
  name: 'sluice_messaging_rabbitmq_connected',
  help: '1 while the RabbitMQ driver connection is up, 0 while it is down or reconnecting',
  labelNames: ['connection'],
});

export const reconnects = defineCounter<'connection'>({
  name: 'sluice_messaging_rabbitmq_reconnects_total',
  help: 'Times a RabbitMQ driver connection was re-established after being lost',
  labelNames: ['connection'],
});

export const confirms = defineCounter<'outcome'>({
  name: 'sluice_messaging_rabbitmq_publish_confirms_total',
  help: 'Publisher confirms received by the RabbitMQ driver (ack, nack, or failed when the channel closed first)',
  labelNames: ['outcome'],
  labelValues: { outcome: ['ack', 'nack', 'failed'] },
});

export const consumerLag = defineGauge<'source'>({
  name: 'sluice_messaging_rabbitmq_consumer_lag',
  help: 'Messages of a queue or group ready but not yet delivered to a consumer, as of the last stats call',
  labelNames: ['source'],
});
