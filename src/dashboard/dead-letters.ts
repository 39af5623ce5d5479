import type { Broker, DeadLetter, DeadLetters } from '../messaging/index.js';

/** Dead letters read for one search at most. */
export const MAX_DEAD_LETTERS = 1000;

/**
 * Where dead letters sit, as the page names it: `queue:NAME`, or `topic:NAME/GROUP` for one
 * consumer group of a topic.
 */
export function deadLettersAt(broker: Broker, source: string): DeadLetters<unknown> | undefined {
  const queue = /^queue:(.+)$/.exec(source);
  if (queue !== null) return broker.queue(queue[1]!).deadLetters;
  const topic = /^topic:([^/]+)\/(.+)$/.exec(source);
  if (topic !== null) return broker.topic(topic[1]!).deadLetters(topic[2]!);
  return undefined;
}

/** Dead letters whose id, key, error or payload contains `search` (case-insensitive). */
export async function searchDeadLetters(
  box: DeadLetters<unknown>,
  search: string | undefined,
): Promise<DeadLetter<unknown>[]> {
  const all = await box.list({ limit: MAX_DEAD_LETTERS });
  if (search === undefined || search === '') return all;
  const needle = search.toLowerCase();
  return all.filter((letter) =>
    [letter.id, letter.key ?? '', letter.error, JSON.stringify(letter.payload) ?? '']
      .join('\n')
      .toLowerCase()
      .includes(needle),
  );
}
