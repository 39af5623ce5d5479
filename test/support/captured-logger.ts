import { createLogger } from '../../src/observe/index.js';

export type Line = Record<string, unknown>;

/** A logger whose lines can be awaited, each line matched at most once. */
export function capturedLogger() {
  const lines: Line[] = [];
  const waiting: { match: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  const logger = createLogger({
    name: 'test',
    destination: {
      write: (text: string) => {
        const line = JSON.parse(text) as Line;
        const waiter = waiting.find((w) => w.match(line));
        if (waiter) {
          waiting.splice(waiting.indexOf(waiter), 1);
          waiter.resolve(line);
        } else lines.push(line);
      },
    },
  });
  const next = (match: (l: Line) => boolean): Promise<Line> => {
    const found = lines.find(match);
    if (found) {
      lines.splice(lines.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => waiting.push({ match, resolve }));
  };
  return { logger, next, lines };
}
