/**
 * What every command's flag parsing shares: the UsageError (exit 2) and Node's parseArgs in strict
 * mode with its errors rewritten into one line that names the flag and the command's `--help`.
 * Pure: no I/O, no process state.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SluiceError } from '@sluice/common';
import type { CommandName } from './usage.js';

/** Bad command-line usage; the CLI exits with code 2. */
export class UsageError extends SluiceError {
  constructor(problem: string, command?: CommandName) {
    super('USAGE', `${problem}. Run 'sluice ${command === undefined ? '' : `${command} `}--help'`);
    this.name = 'UsageError';
  }
}

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: true };
export type StrictParseResult<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>;

/** parseArgs in strict mode, with its errors rewritten into one line that names the flag. */
export function strictParse<O extends OptionsConfig>(command: CommandName, args: string[], options: O): StrictParseResult<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err, options), command);
  }
}

export function nonEmpty(raw: string, flag: string, what: string, command: CommandName): string {
  if (raw.trim() === '') throw new UsageError(`invalid value '' for ${flag}: expected ${what}`, command);
  return raw;
}

/** Throws for a second positional argument when the command takes none or one. */
export function noMorePositionals(positionals: readonly string[], from: number, command: CommandName): void {
  const extra = positionals[from];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, command);
}

function describeParseError(err: unknown, options: OptionsConfig): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  // Node quotes the flag, e.g. '--foo', '-p' or '-p, --parallelism <value>'.
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${quoted}'`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = optionName(quoted, options);
    const flag = name === undefined ? quoted : displayFlag(name, options);
    if (message.includes('does not take an argument')) return `option ${flag} takes no value`;
    if (message.includes('ambiguous') && name !== undefined) {
      const example = name.length > 1 ? `--${name}=-VALUE` : `-${name}-VALUE`;
      return `option ${flag} needs a value (for a value starting with '-', write ${example})`;
    }
    return `option ${flag} needs a value`;
  }
  return message.split('\n')[0] ?? message;
}

/** The config key of the first flag in Node's quoted text ('-p, --parallelism <value>' → 'parallelism'). */
function optionName(quoted: string, options: OptionsConfig): string | undefined {
  const token = quoted.split(/[ ,]/)[0] ?? '';
  if (token.startsWith('--')) return token.slice(2);
  const short = token.slice(1);
  return Object.keys(options).find((k) => options[k]?.short === short) ?? (short in options ? short : undefined);
}

function displayFlag(name: string, options: OptionsConfig): string {
  if (name.length === 1) return `-${name}`;
  const short = options[name]?.short;
  return short === undefined ? `--${name}` : `-${short}/--${name}`;
}
