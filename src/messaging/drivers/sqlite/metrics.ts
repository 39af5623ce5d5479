import { defineCounter } from '../../../observe/metrics.js';

export const deadLettersDropped = defineCounter<'source'>({
  name: 'sluice_messaging_sqlite_dead_letters_dropped_total',
  help: 'Oldest dead letters the sqlite driver dropped to keep a queue within maxDeadLetters',
  labelNames: ['source'],
});
