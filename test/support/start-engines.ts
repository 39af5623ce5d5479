// Starts every shared engine the tests use that is not answering yet, with the commands in
// engines.ts, and waits until each answers: CI's way to have them up (see .ci/run).
import { type Engine, startEngine } from './engines.js';

// The management plugin needs its node running: after rabbitmq.
const all: Engine[] = ['redis', 'postgres', 'nats', 'rabbitmq', 'rabbitmqManagement'];
for (const engine of all) {
  await startEngine(engine);
  console.log(`${engine} is up`);
}
