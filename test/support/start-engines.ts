// Starts every shared engine the tests use that is not answering yet, with the commands in
// engines.ts, and waits until each answers: CI's way to have them up (see .ci/run).
import { type Engine, startEngine } from './engines.js';

const all: Engine[] = ['redis', 'postgres', 'nats', 'rabbitmq'];
for (const engine of all) {
  await startEngine(engine);
  console.log(`${engine} is up`);
}
