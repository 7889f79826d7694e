import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type ParsedCommand } from './args.js';
import { COMMAND_HELP, TOP_LEVEL_HELP } from './usage.js';

describe('parseCommandLine', () => {
  it.each<[string, string[], ParsedCommand]>([
    ['top-level --help', ['--help'], { kind: 'help', text: TOP_LEVEL_HELP }],
    ['top-level -h', ['-h'], { kind: 'help', text: TOP_LEVEL_HELP }],
    ['help command', ['help'], { kind: 'help', text: TOP_LEVEL_HELP }],
    ['help for run', ['help', 'run'], { kind: 'help', text: COMMAND_HELP.run }],
    ['run --help', ['run', '--help'], { kind: 'help', text: COMMAND_HELP.run }],
    ['plan -h with a job', ['plan', 'job.ts', '-h'], { kind: 'help', text: COMMAND_HELP.plan }],
    ['--version', ['--version'], { kind: 'version' }],
    ['run with defaults', ['run', 'job.ts'], { kind: 'run', options: { jobFile: 'job.ts', params: {}, verbose: false } }],
    [
      'run with every option',
      ['run', '-p', '4', 'job.ts', '--buffer-timeout', '0.5', '-D', 'a=1', '-Db=x=y', '--metrics-port=0', '--verbose', '-D', 'a=2'],
      {
        kind: 'run',
        options: { jobFile: 'job.ts', params: { a: '2', b: 'x=y' }, parallelism: 4, bufferTimeoutMs: 0.5, metricsPort: 0, verbose: true },
      },
    ],
    ['run with long parallelism and empty param value', ['run', '--parallelism=2', '-D', 'k=', 'j.mjs'], { kind: 'run', options: { jobFile: 'j.mjs', params: { k: '' }, parallelism: 2, verbose: false } }],
    ['job file after --', ['run', '--', '-odd.ts'], { kind: 'run', options: { jobFile: '-odd.ts', params: {}, verbose: false } }],
    ['plan', ['plan', 'job.ts', '-p', '3', '-D', 'x=1'], { kind: 'plan', options: { jobFile: 'job.ts', params: { x: '1' }, parallelism: 3, verbose: false } }],
    ['max port', ['run', 'j.ts', '--metrics-port', '65535'], { kind: 'run', options: { jobFile: 'j.ts', params: {}, metricsPort: 65535, verbose: false } }],
  ])('accepts %s', (_name, argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected);
  });

  it.each<[string, string[], string]>([
    ['no command', [], "missing command. Run 'sluice --help'"],
    ['unknown command', ['deploy', 'job.ts'], "unknown command 'deploy'. Run 'sluice --help'"],
    ['unknown top-level flag', ['--foo'], "unknown option '--foo'. Run 'sluice --help'"],
    ['help for unknown command', ['help', 'nope'], "unknown command 'nope'. Run 'sluice --help'"],
    ['unknown run flag', ['run', 'job.ts', '--foo'], "unknown option '--foo'. Run 'sluice run --help'"],
    ['unknown short flag', ['run', '-x', 'job.ts'], "unknown option '-x'. Run 'sluice run --help'"],
    ['run-only flag on plan', ['plan', 'job.ts', '--metrics-port', '1'], "unknown option '--metrics-port'. Run 'sluice plan --help'"],
    ['missing job file', ['run'], "missing job file: sluice run <job.ts|job.js>. Run 'sluice run --help'"],
    ['two job files', ['run', 'a.ts', 'b.ts'], "unexpected argument 'b.ts'. Run 'sluice run --help'"],
    ['-p without value', ['run', 'job.ts', '-p'], "option -p/--parallelism needs a value. Run 'sluice run --help'"],
    ['-p followed by a flag', ['run', 'job.ts', '-p', '--verbose'], "option -p/--parallelism needs a value (for a value starting with '-', write --parallelism=-VALUE). Run 'sluice run --help'"],
    ['boolean with value', ['run', 'job.ts', '--verbose=yes'], "option --verbose takes no value. Run 'sluice run --help'"],
    ['-p zero', ['run', 'job.ts', '-p', '0'], "invalid value '0' for -p/--parallelism: expected a positive integer. Run 'sluice run --help'"],
    ['-p fraction', ['run', 'job.ts', '-p', '1.5'], "invalid value '1.5' for -p/--parallelism: expected a positive integer. Run 'sluice run --help'"],
    ['-p word', ['plan', 'job.ts', '-p', 'four'], "invalid value 'four' for -p/--parallelism: expected a positive integer. Run 'sluice plan --help'"],
    ['-p negative', ['run', 'job.ts', '--parallelism=-2'], "invalid value '-2' for -p/--parallelism: expected a positive integer. Run 'sluice run --help'"],
    ['negative buffer timeout', ['run', 'job.ts', '--buffer-timeout=-1'], "invalid value '-1' for --buffer-timeout: expected a non-negative number of milliseconds. Run 'sluice run --help'"],
    ['buffer timeout word', ['run', 'job.ts', '--buffer-timeout', 'soon'], "invalid value 'soon' for --buffer-timeout: expected a non-negative number of milliseconds. Run 'sluice run --help'"],
    ['port too large', ['run', 'job.ts', '--metrics-port', '65536'], "invalid value '65536' for --metrics-port: expected a port number 0..65535 (0 picks a free port). Run 'sluice run --help'"],
    ['port word', ['run', 'job.ts', '--metrics-port', 'http'], "invalid value 'http' for --metrics-port: expected a port number 0..65535 (0 picks a free port). Run 'sluice run --help'"],
    ['-D without =', ['run', 'job.ts', '-D', 'key'], "invalid value 'key' for -D: expected key=value. Run 'sluice run --help'"],
    ['-D without key', ['plan', 'job.ts', '-D', '=v'], "invalid value '=v' for -D: expected key=value. Run 'sluice plan --help'"],
  ])('rejects %s', (_name, argv, message) => {
    let thrown: unknown;
    try {
      parseCommandLine(argv);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as UsageError).message).toBe(message);
    expect((thrown as UsageError).code).toBe('USAGE');
  });
});
