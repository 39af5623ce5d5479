import { channel } from 'node:diagnostics_channel';

/** Published only when someone subscribes; `source` is a queue name or `topic/group`. */
export interface ConsumerErrorEvent {
  source: string;
  /** `read`, `handle` and `commit` come from a stream group's consumer. */
  operation:
    | 'claim'
    | 'ack'
    | 'release'
    | 'dead-letter'
    | 'extend-lease'
    | 'read'
    | 'handle'
    | 'commit';
  error: unknown;
}
export interface DeadLetterEvent {
  source: string;
  id: string;
  attempt: number;
  reason: string;
}
export interface RetryScheduledEvent {
  source: string;
  id: string;
  attempt: number;
  delayMs: number;
}

/** One SQLite group commit: how many writes (publishes, claims, acks...) it carried. */
export interface GroupCommitEvent {
  operations: number;
  durationMs: number;
}

export const messagingChannels = {
  groupCommit: channel('sluice:messaging:group-commit'),
  consumerError: channel('sluice:messaging:consumer-error'),
  deadLetter: channel('sluice:messaging:dead-letter'),
  retry: channel('sluice:messaging:retry'),
} as const;
