import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type ParsedCommand } from './args.js';
import { COMMAND_HELP } from './usage.js';

describe('parseCommandLine: the cluster commands', () => {
  it.each<[string, string[], ParsedCommand]>([
    ['info', ['info', 'abc'], { kind: 'info', options: { jobId: 'abc', verbose: false } }],
    ['info --json with address and token file', ['info', '--json', 'abc', '--address', '10.0.0.5:8081', '--token-file', 't'], { kind: 'info', options: { jobId: 'abc', json: true, address: 'http://10.0.0.5:8081', restTokenFile: 't', verbose: false } }],
    ['taskmanagers', ['taskmanagers'], { kind: 'taskmanagers', options: { verbose: false } }],
    ['taskmanagers --json', ['taskmanagers', '--json', '--verbose'], { kind: 'taskmanagers', options: { json: true, verbose: true } }],
    ['overview', ['overview', '--address=http://h:1/'], { kind: 'overview', options: { address: 'http://h:1', verbose: false } }],
    ['list --json', ['list', '--json'], { kind: 'list', options: { json: true, verbose: false } }],
    ['cancel with --token-file', ['cancel', 'j', '--token-file', '/t'], { kind: 'cancel', options: { jobId: 'j', restTokenFile: '/t', verbose: false } }],
    ['savepoint --target-directory', ['savepoint', 'j', '--target-directory', 'sp'], { kind: 'savepoint', options: { jobId: 'j', targetDirectory: 'sp', verbose: false } }],
    ['stop --target-directory', ['stop', 'j', '--target-directory', 'sp', '--drain'], { kind: 'stop', options: { jobId: 'j', savepointPath: 'sp', drain: true, verbose: false } }],
    ['help info', ['help', 'info'], { kind: 'help', text: COMMAND_HELP.info }],
    ['taskmanagers -h', ['taskmanagers', '-h'], { kind: 'help', text: COMMAND_HELP.taskmanagers }],
    ['overview --help', ['overview', '--help'], { kind: 'help', text: COMMAND_HELP.overview }],
  ])('accepts %s', (_name, argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected);
  });

  it.each<[string, string[], string]>([
    ['info without a job id', ['info'], "missing job id: sluice info <jobId> ('sluice list' shows the ids). Run 'sluice info --help'"],
    ['info with two ids', ['info', 'a', 'b'], "unexpected argument 'b'. Run 'sluice info --help'"],
    ['info with a bad id', ['info', 'a/b'], "invalid job id 'a/b': expected letters, digits, '.', '_' or '-' as 'sluice list' shows them. Run 'sluice info --help'"],
    ['taskmanagers with an argument', ['taskmanagers', 'all'], "unexpected argument 'all'. Run 'sluice taskmanagers --help'"],
    ['overview with a bad address', ['overview', '--address', 'ftp://h'], "invalid value 'ftp://h' for --address: expected an http:// URL like http://127.0.0.1:8081 (the REST API speaks plain HTTP). Run 'sluice overview --help'"],
    ['--json on cancel', ['cancel', 'j', '--json'], "unknown option '--json'. Run 'sluice cancel --help'"],
    ['savepoint with both directories', ['savepoint', 'j', 'a', '--target-directory', 'b'], "give the target directory once: as the argument after the job id or with --target-directory. Run 'sluice savepoint --help'"],
    ['stop with both directories', ['stop', 'j', '--savepoint-path', 'a', '--target-directory', 'b'], "give the savepoint directory once: --savepoint-path and --target-directory are the same option. Run 'sluice stop --help'"],
    ['stop with an empty target', ['stop', 'j', '--target-directory='], "invalid value '' for --target-directory: expected a directory. Run 'sluice stop --help'"],
    ['two token files', ['list', '--token-file', 'a', '--rest-token-file', 'b'], "give the token file once: --token-file and --rest-token-file are the same option. Run 'sluice list --help'"],
  ])('rejects %s', (_name, argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
});
