import { AssembledDriver } from '../assemble.js';
import { MemoryQueues } from './queues.js';
import { MemoryStreams } from './streams.js';

/** In-process: the same semantics as the durable drivers, minus durability. */
export class MemoryDriver extends AssembledDriver {
  constructor() {
    const queues = new MemoryQueues();
    super({
      name: 'memory',
      capabilities: {
        durable: false,
        delay: true,
        orderByKey: true,
        dedupe: true,
        overflow: ['reject', 'drop-oldest'],
        topics: true,
        deadLetterReplay: true,
        streams: true,
        streamRetention: ['count', 'age', 'bytes'],
        streamReadFromTime: true,
      },
      queues,
      deadLetters: queues.deadLetters,
      streams: new MemoryStreams(),
      close: () => queues.close(),
    });
  }
}
