import cluster, { type Worker } from 'node:cluster';
import { type GcraOptions, gcra, type RateLimitDecision, type RateLimiter } from '../flow/index.js';

interface TakeMessage {
  sluiceTake: number;
  name: string;
  limit: number;
  periodMs: number;
  burst: number;
  key: string;
  cost: number;
}

/** The primary's answer: a decision, or why it could not take (a bad limit or key). */
type DecisionMessage =
  | { sluiceDecision: number; decision: RateLimitDecision }
  | { sluiceDecision: number; error: string };

const isTake = (m: unknown): m is TakeMessage =>
  typeof m === 'object' && m !== null && typeof (m as TakeMessage).sluiceTake === 'number';
const isDecision = (m: unknown): m is DecisionMessage =>
  typeof m === 'object' && m !== null && typeof (m as DecisionMessage).sluiceDecision === 'number';

/**
 * In the cluster primary: answers the workers' takes from one GCRA per limit, so a local
 * rate limit stays exact however connections spread over the workers.
 */
const limiters = new Map<string, RateLimiter>();

export function serveClusterLimits(worker: Worker): void {
  worker.on('message', (message: unknown) => {
    if (!isTake(message)) return;
    let answer: DecisionMessage;
    try {
      answer = { sluiceDecision: message.sluiceTake, decision: take(message) };
    } catch (error) {
      // Thrown here, it would end the primary and every worker with it.
      answer = { sluiceDecision: message.sluiceTake, error: String(error) };
    }
    // A worker that died meanwhile took its request with it. With a callback, a closed
    // channel is reported here instead of as an 'error' event that would end the primary.
    worker.send(answer, () => {});
  });
}

function take(message: TakeMessage): RateLimitDecision {
  const id = `${message.name}|${message.limit}|${message.periodMs}|${message.burst}`;
  let limiter = limiters.get(id);
  if (limiter === undefined) {
    const options: GcraOptions = {
      name: message.name,
      limit: message.limit,
      periodMs: message.periodMs,
      burst: message.burst,
    };
    limiter = gcra(options);
    limiters.set(id, limiter);
  }
  if (typeof message.key !== 'string') throw new TypeError('a take needs a string key');
  return limiter.take(message.key, message.cost) as RateLimitDecision;
}

const pending = new Map<
  number,
  { resolve: (decision: RateLimitDecision) => void; reject: (error: Error) => void }
>();
let nextId = 0;
let listening = false;

/** In a cluster worker: a limiter whose state lives in the primary (one IPC round trip). */
export function clusterRateLimiter(options: {
  name: string;
  limit: number;
  periodMs: number;
  burst: number;
}): RateLimiter {
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      if (!isDecision(message)) return;
      const waiting = pending.get(message.sluiceDecision);
      pending.delete(message.sluiceDecision);
      if ('error' in message) {
        waiting?.reject(new Error(`the cluster primary could not take: ${message.error}`));
      } else waiting?.resolve(message.decision);
    });
  }
  return {
    name: options.name,
    take: (key, cost = 1) =>
      new Promise<RateLimitDecision>((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        process.send?.({ sluiceTake: id, ...options, key, cost } satisfies TakeMessage);
      }),
  };
}

export const inClusterWorker = (): boolean => cluster.isWorker && process.send !== undefined;
