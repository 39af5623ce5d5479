import { InvalidArgumentError } from '../core/index.js';

/**
 * Splits a service's `command` into a program and its arguments, honouring quotes and
 * backslashes as a POSIX shell would for a simple command. No shell runs in between, so a
 * signal sent to the instance reaches the program itself; pipes and `&&` need an explicit
 * `sh -c '…'`.
 */
export function splitCommand(command: string): [string, ...string[]] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (
      c === '\\' &&
      i + 1 < command.length &&
      (quote === undefined || '"\\$`'.includes(command[i + 1]!))
    ) {
      word = (word ?? '') + command[++i];
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined)
    throw new InvalidArgumentError(`unterminated ${quote} in command: ${command}`);
  if (word !== undefined) words.push(word);
  if (words.length === 0) throw new InvalidArgumentError('empty command');
  return words as [string, ...string[]];
}
