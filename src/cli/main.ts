#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Command, commands } from './commands.js';
import { isUsageError, UsageError } from './errors.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length)) + 2;
  const lines = Object.values(commands).map(
    (c) => `  ${c.usage.padEnd(width)}${c.summary}${c.run === undefined ? ' (coming)' : ''}`,
  );
  return [
    `sluice ${version()}: middleware patterns for TypeScript services`,
    '',
    'Usage: sluice <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help      show this help (sluice help COMMAND for one command)',
    '  -v, --version   print the version',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const status = command.run === undefined ? '\n\nThis command is coming in a later release.' : '';
  const options = command.options ?? [];
  const width = Math.max(0, ...options.map(([flag]) => flag.length)) + 2;
  const listed =
    options.length === 0
      ? ''
      : `\n\nOptions:\n${options.map(([flag, meaning]) => `  ${flag.padEnd(width)}${meaning}`).join('\n')}`;
  return `Usage: sluice ${command.usage}\n\n${command.summary}${status}${listed}`;
}

function find(name: string): Command {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) throw new UsageError(`unknown command "${name}"`);
  return command;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const { tokens } = parseArgs({ args: argv, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional');
  const globalArgs = first === undefined ? argv : argv.slice(0, first.index);
  const { values } = parseArgs({
    args: globalArgs,
    strict: true,
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
  });
  if (values.version === true) {
    console.log(version());
    return 0;
  }
  if (first === undefined || values.help === true) {
    console.log(help());
    return 0;
  }
  const name = first.value;
  const rest = argv.slice(first.index + 1);
  if (name === 'help') {
    console.log(rest[0] === undefined ? help() : commandHelp(find(rest[0])));
    return 0;
  }
  const command = find(name);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(command));
    return 0;
  }
  if (command.run === undefined) {
    throw new UsageError(`"${name}" is not available yet: it is coming in a later release`);
  }
  return command.run(rest);
}

function usageMessage(error: unknown): string | undefined {
  if (isUsageError(error)) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  // parseArgs reports bad options with these codes.
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))
    return (error as Error).message;
  return undefined;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const usage = usageMessage(error);
  if (usage !== undefined) {
    console.error(`sluice: ${usage}\nRun "sluice --help" to see the commands.`);
    process.exitCode = 2;
  } else {
    console.error(`sluice: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
