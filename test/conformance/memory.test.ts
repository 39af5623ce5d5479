import { MemoryDriver } from '../../src/messaging/drivers/memory/driver.js';
import { conformance } from './suite.js';

conformance({ name: 'memory', open: async () => new MemoryDriver() });
