/**
 * Quorum queues expire per-message TTLs only at the head, so one queue holding mixed delays
 * would hold a short delay behind a long one. Each delay queue therefore has one queue-wide
 * TTL, and delays round up to a geometric grid (steps of 25%, from 10 ms) to bound how many
 * such queues exist: a message is never early, and late by at most a quarter of its delay.
 */
const first = 10;
const ratio = 1.25;
const longest = 2 ** 31 - 1;

export function delayBucket(ms: number): number {
  if (ms <= first) return first;
  const step = Math.ceil(Math.log(ms / first) / Math.log(ratio) - 1e-9);
  let bucket = Math.ceil(first * ratio ** step);
  if (bucket < ms) bucket = Math.ceil(first * ratio ** (step + 1));
  return Math.min(bucket, longest);
}

/** Unused delay queues delete themselves this long after their TTL, once empty for good. */
export function delayQueueExpiry(bucket: number): number {
  return Math.min(bucket + 10 * 60_000, longest);
}
