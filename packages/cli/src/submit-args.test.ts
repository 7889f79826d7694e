import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type ParsedCommand } from './args.js';
import { COMMAND_HELP } from './usage.js';

/** What every submit has unless its flags say otherwise. */
const S = { params: {}, verbose: false, detached: false, quiet: false };

describe('parseCommandLine: submit', () => {
  it.each<[string, string[], ParsedCommand]>([
    ['defaults', ['submit', 'job.ts'], { kind: 'submit', options: { jobFile: 'job.ts', ...S } }],
    [
      'job flags as run takes them',
      ['submit', 'job.ts', '-p', '4', '-D', 'a=1', '-Db=2', '--buffer-timeout', '0', '--checkpoint-interval', '1s', '--checkpoint-dir', 'ck', '--restart-strategy', 'none', '--tolerable-failed-checkpoints', '2', '--verbose'],
      {
        kind: 'submit',
        options: {
          ...S,
          jobFile: 'job.ts',
          parallelism: 4,
          params: { a: '1', b: '2' },
          bufferTimeoutMs: 0,
          checkpointIntervalMs: 1000,
          checkpointDir: 'ck',
          restartStrategy: { type: 'none' },
          tolerableFailedCheckpoints: 2,
          verbose: true,
        },
      },
    ],
    [
      'a savepoint, detached, quiet, address and token file',
      ['submit', '--from-savepoint', 'sp/s-1', '--allow-non-restored-state', '-d', '-q', 'job.ts', '--address', 'localhost:9000/', '--token-file', 't.token'],
      { kind: 'submit', options: { ...S, jobFile: 'job.ts', fromSavepoint: 'sp/s-1', allowNonRestoredState: true, detached: true, quiet: true, address: 'http://localhost:9000', restTokenFile: 't.token' } },
    ],
    ['--detached and --rest-token-file', ['submit', 'job.mjs', '--detached', '--rest-token-file=/t'], { kind: 'submit', options: { ...S, jobFile: 'job.mjs', detached: true, restTokenFile: '/t' } }],
    ['--help', ['submit', '--help'], { kind: 'help', text: COMMAND_HELP.submit }],
    ['help submit', ['help', 'submit'], { kind: 'help', text: COMMAND_HELP.submit }],
  ])('accepts %s', (_name, argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected);
  });

  it.each<[string, string[], string]>([
    ['no job file', ['submit'], "missing job file: sluice submit <job.ts|job.js>. Run 'sluice submit --help'"],
    ['two job files', ['submit', 'a.ts', 'b.ts'], "unexpected argument 'b.ts'. Run 'sluice submit --help'"],
    ['bad parallelism', ['submit', 'a.ts', '-p', '0'], "invalid value '0' for -p/--parallelism: expected a positive integer. Run 'sluice submit --help'"],
    ['bad interval', ['submit', 'a.ts', '--checkpoint-interval', '5'], "invalid value '5' for --checkpoint-interval: expected a duration in whole milliseconds with a unit, like 500ms, 1s or 2min (0 turns checkpoints off). Run 'sluice submit --help'"],
    ['allow without savepoint', ['submit', 'a.ts', '--allow-non-restored-state'], "--allow-non-restored-state only applies with --from-savepoint <path>. Run 'sluice submit --help'"],
    ['https address', ['submit', 'a.ts', '--address', 'https://h:1'], "invalid value 'https://h:1' for --address: expected an http:// URL like http://127.0.0.1:8081 (the REST API speaks plain HTTP). Run 'sluice submit --help'"],
    ['two token files', ['submit', 'a.ts', '--token-file', 'a', '--rest-token-file', 'b'], "give the token file once: --token-file and --rest-token-file are the same option. Run 'sluice submit --help'"],
    ['empty token file', ['submit', 'a.ts', '--token-file='], "invalid value '' for --token-file: expected a file path. Run 'sluice submit --help'"],
    ['run-only flag', ['submit', 'a.ts', '--rest-port', '0'], "unknown option '--rest-port'. Run 'sluice submit --help'"],
    ['detached with a value', ['submit', 'a.ts', '--detached=yes'], "option -d/--detached takes no value. Run 'sluice submit --help'"],
  ])('rejects %s', (_name, argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
});
