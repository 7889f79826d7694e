/**
 * Flags of `sluice submit`: the job and its configuration as `run` takes them, where it starts
 * from, where the cluster is, and whether to follow the job. Pure.
 */
import type { ParseArgsConfig } from 'node:util';
import { strictParse } from './arg-parsing.js';
import { connectionOptions, CONNECTION_OPTIONS, type ClientCommandOptions } from './client-args.js';
import { JOB_OPTIONS, jobOptions, RESTORE_OPTIONS, restoreOptions, type JobCommandOptions, type RestoreOptions } from './job-args.js';
import { COMMAND_HELP } from './usage.js';

export interface SubmitCommandOptions extends JobCommandOptions, RestoreOptions, Pick<ClientCommandOptions, 'address' | 'restTokenFile'> {
  /** Print the job id once the cluster accepted the job and exit, instead of following it. */
  detached: boolean;
  /** No upload progress and no live status line. */
  quiet: boolean;
}

const SUBMIT_OPTIONS = {
  ...JOB_OPTIONS,
  ...RESTORE_OPTIONS,
  ...CONNECTION_OPTIONS,
  detached: { type: 'boolean', short: 'd' },
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies ParseArgsConfig['options'];

export function parseSubmit(args: string[]): { kind: 'submit'; options: SubmitCommandOptions } | { kind: 'help'; text: string } {
  const { values, positionals } = strictParse('submit', args, SUBMIT_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.submit };
  const options: SubmitCommandOptions = {
    ...jobOptions('submit', values, positionals),
    ...restoreOptions(values, 'submit'),
    ...connectionOptions('submit', values),
    detached: values.detached === true,
    quiet: values.quiet === true,
  };
  return { kind: 'submit', options };
}
