import { parseArgs } from 'node:util';
import { isConfigError } from '../core/index.js';
import { configWarnings, loadSluiceConfig } from '../runtime/config/index.js';

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/**
 * `sluice validate [FILE...]`: 0 when every file is valid, 1 when any is not. Warnings (a
 * trusted proxy that clients also reach directly) are printed and fail nothing.
 */
export async function runValidate(args: string[], output: Output = consoleOutput): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: {} });
  // The same default as `sluice up` and `sluice fault`.
  const files = positionals.length === 0 ? ['sluice.yaml'] : positionals;
  let code = 0;
  for (const file of files) {
    try {
      const warnings = await configWarnings(file, await loadSluiceConfig(file));
      for (const w of warnings) {
        output.err(`  ${file}:${w.line}:${w.column} ${w.path}: warning: ${w.message}`);
      }
      const noun = warnings.length === 1 ? 'warning' : 'warnings';
      output.out(
        warnings.length === 0 ? `${file}: valid` : `${file}: valid, ${warnings.length} ${noun}`,
      );
    } catch (error) {
      if (!isConfigError(error)) throw error;
      output.err(error.message);
      code = 1;
    }
  }
  return code;
}
