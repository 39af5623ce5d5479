import { everyCapability } from '../../driver.js';
import { AssembledDriver } from '../assemble.js';
import { MemoryQueues } from './queues.js';
import { MemoryStreams } from './streams.js';

/** In-process: the same semantics as the durable drivers, minus durability. */
export class MemoryDriver extends AssembledDriver {
  constructor() {
    const queues = new MemoryQueues();
    super({
      name: 'memory',
      capabilities: { ...everyCapability, durable: false },
      queues,
      deadLetters: queues.deadLetters,
      streams: new MemoryStreams(),
      close: () => queues.close(),
    });
  }
}
