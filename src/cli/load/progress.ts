export interface ProgressOptions {
  /** A terminal: one status line rewritten in place every second. */
  tty: boolean;
  write: (text: string) => void;
}

/**
 * The live progress of a run. On a terminal, one line rewritten every second and left in
 * place at the end; elsewhere (a log, a pipe) a plain line every 5 s and, at the end, the
 * final line unless the last one printed already said the same.
 */
export function showProgress(
  line: () => string,
  { tty, write }: ProgressOptions,
): { stop: () => void } {
  let last: string | undefined;
  const print = (): void => {
    const text = line();
    if (tty) {
      write(`\r${text}\x1b[K`);
      return;
    }
    write(`${text}\n`);
    last = withoutClock(text);
  };
  const timer = setInterval(print, tty ? 1000 : 5000);
  return {
    stop: () => {
      clearInterval(timer);
      const text = line();
      if (tty) write(`\r${text}\x1b[K\n`);
      else if (withoutClock(text) !== last) write(`${text}\n`);
    },
  };
}

/** The line without its leading elapsed time (`  20.0s  `), which moves on by itself. */
function withoutClock(text: string): string {
  return text.replace(/^\s*\d+(\.\d+)?s\s+/, '');
}
