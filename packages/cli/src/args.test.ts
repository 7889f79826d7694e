import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type ParsedCommand } from './args.js';
import { COMMAND_HELP, TOP_LEVEL_HELP } from './usage.js';

const R = 8081; // default --rest-port
/** What every run command has unless its flags say otherwise. */
const D = { restPort: R, quiet: false, shutdownTimeoutMs: 30_000 };

describe('parseCommandLine', () => {
  it.each<[string, string[], ParsedCommand]>([
    ['top-level --help', ['--help'], { kind: 'help', text: TOP_LEVEL_HELP }],
    ['top-level -h', ['-h'], { kind: 'help', text: TOP_LEVEL_HELP }],
    ['help command', ['help'], { kind: 'help', text: TOP_LEVEL_HELP }],
    ['help for run', ['help', 'run'], { kind: 'help', text: COMMAND_HELP.run }],
    ['run --help', ['run', '--help'], { kind: 'help', text: COMMAND_HELP.run }],
    ['plan -h with a job', ['plan', 'job.ts', '-h'], { kind: 'help', text: COMMAND_HELP.plan }],
    ['--version', ['--version'], { kind: 'version' }],
    ['run with defaults', ['run', 'job.ts'], { kind: 'run', options: { jobFile: 'job.ts', params: {}, verbose: false, ...D } }],
    [
      'run with every option',
      ['run', '-p', '4', 'job.ts', '--buffer-timeout', '0.5', '-D', 'a=1', '-Db=x=y', '--metrics-port=0', '--verbose', '-D', 'a=2'],
      {
        kind: 'run',
        options: { jobFile: 'job.ts', params: { a: '2', b: 'x=y' }, parallelism: 4, bufferTimeoutMs: 0.5, metricsPort: 0, verbose: true, ...D },
      },
    ],
    ['run with long parallelism and empty param value', ['run', '--parallelism=2', '-D', 'k=', 'j.mjs'], { kind: 'run', options: { jobFile: 'j.mjs', params: { k: '' }, parallelism: 2, verbose: false, ...D } }],
    ['job file after --', ['run', '--', '-odd.ts'], { kind: 'run', options: { jobFile: '-odd.ts', params: {}, verbose: false, ...D } }],
    ['plan', ['plan', 'job.ts', '-p', '3', '-D', 'x=1'], { kind: 'plan', options: { jobFile: 'job.ts', params: { x: '1' }, parallelism: 3, verbose: false } }],
    ['max port', ['run', 'j.ts', '--metrics-port', '65535'], { kind: 'run', options: { jobFile: 'j.ts', params: {}, metricsPort: 65535, verbose: false, ...D } }],
    [
      'run with checkpoint and savepoint flags',
      ['run', 'j.ts', '--checkpoint-interval', '1s', '--checkpoint-dir', 'chk', '--restart-strategy', 'fixed-delay:attempts=3,delay=2s', '--from-savepoint=sp/s-1', '--allow-non-restored-state', '--rest-port', '0'],
      {
        kind: 'run',
        options: {
          jobFile: 'j.ts',
          params: {},
          verbose: false,
          ...D,
          restPort: 0,
          checkpointIntervalMs: 1000,
          checkpointDir: 'chk',
          restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 2000 },
          fromSavepoint: 'sp/s-1',
          allowNonRestoredState: true,
        },
      },
    ],
    ['checkpoints off', ['run', 'j.ts', '--checkpoint-interval', '0', '--restart-strategy', 'none'], { kind: 'run', options: { jobFile: 'j.ts', params: {}, verbose: false, ...D, checkpointIntervalMs: 0, restartStrategy: { type: 'none' } } }],
    [
      'run with status, shutdown and checkpoint-failure flags',
      ['run', 'j.ts', '-q', '--shutdown-timeout', '5s', '--tolerable-failed-checkpoints', '3'],
      { kind: 'run', options: { jobFile: 'j.ts', params: {}, verbose: false, ...D, quiet: true, shutdownTimeoutMs: 5000, tolerableFailedCheckpoints: 3 } },
    ],
    ['plan with configuration flags', ['plan', 'job.ts', '--checkpoint-interval', '1s', '--checkpoint-dir', 'ck', '--tolerable-failed-checkpoints=2'], { kind: 'plan', options: { jobFile: 'job.ts', params: {}, verbose: false, checkpointIntervalMs: 1000, checkpointDir: 'ck', tolerableFailedCheckpoints: 2 } }],
    ['savepoint with defaults', ['savepoint', 'abc123'], { kind: 'savepoint', options: { jobId: 'abc123', verbose: false } }],
    [
      'savepoint with a directory and address',
      ['savepoint', 'abc123', 'sp', '--address', 'localhost:9000/'],
      { kind: 'savepoint', options: { jobId: 'abc123', targetDirectory: 'sp', address: 'http://localhost:9000', verbose: false } },
    ],
    ['stop', ['stop', 'abc', '--savepoint-path', '/sp', '--drain'], { kind: 'stop', options: { jobId: 'abc', savepointPath: '/sp', drain: true, verbose: false } }],
    ['stop without drain', ['stop', '--savepoint-path=sp', 'abc', '--address=http://10.0.0.1:8081/sluice/'], { kind: 'stop', options: { jobId: 'abc', savepointPath: 'sp', drain: false, address: 'http://10.0.0.1:8081/sluice', verbose: false } }],
    ['list', ['list'], { kind: 'list', options: { verbose: false } }],
    ['list --verbose', ['list', '--verbose', '--address', 'http://[::1]:8081'], { kind: 'list', options: { verbose: true, address: 'http://[::1]:8081' } }],
    ['cancel', ['cancel', 'job-1.a_b'], { kind: 'cancel', options: { jobId: 'job-1.a_b', verbose: false } }],
    ['help for stop', ['help', 'stop'], { kind: 'help', text: COMMAND_HELP.stop }],
    ['savepoint --help', ['savepoint', '--help'], { kind: 'help', text: COMMAND_HELP.savepoint }],
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
    ['negative tolerable failures', ['run', 'job.ts', '--tolerable-failed-checkpoints', '-1'], "option --tolerable-failed-checkpoints needs a value (for a value starting with '-', write --tolerable-failed-checkpoints=-VALUE). Run 'sluice run --help'"],
    ['word for tolerable failures', ['run', 'job.ts', '--tolerable-failed-checkpoints=some'], "invalid value 'some' for --tolerable-failed-checkpoints: expected a non-negative integer (0 fails over on the first failed checkpoint). Run 'sluice run --help'"],
    ['shutdown timeout without unit', ['run', 'job.ts', '--shutdown-timeout', '30'], "invalid value '30' for --shutdown-timeout: expected a positive duration with a unit, like 10s or 2min. Run 'sluice run --help'"],
    ['zero shutdown timeout', ['run', 'job.ts', '--shutdown-timeout', '0'], "invalid value '0' for --shutdown-timeout: expected a positive duration with a unit, like 10s or 2min. Run 'sluice run --help'"],
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
    ['rest port too large', ['run', 'job.ts', '--rest-port', '65536'], "invalid value '65536' for --rest-port: expected a port number 0..65535 (0 picks a free port). Run 'sluice run --help'"],
    [
      'interval without unit',
      ['run', 'job.ts', '--checkpoint-interval', '1000'],
      "invalid value '1000' for --checkpoint-interval: expected a duration in whole milliseconds with a unit, like 500ms, 1s or 2min (0 turns checkpoints off). Run 'sluice run --help'",
    ],
    [
      'fractional interval',
      ['run', 'job.ts', '--checkpoint-interval', '1.5ms'],
      "invalid value '1.5ms' for --checkpoint-interval: expected a duration in whole milliseconds with a unit, like 500ms, 1s or 2min (0 turns checkpoints off). Run 'sluice run --help'",
    ],
    [
      'unknown restart strategy',
      ['run', 'job.ts', '--restart-strategy', 'always'],
      "invalid value 'always' for --restart-strategy: unknown restart strategy 'always'; expected none | fixed-delay:attempts=3,delay=2s | failure-rate:max-failures=3,interval=5min,delay=1s | exponential-delay:initial=1s,max=1min,multiplier=1.5,reset-after=1h,jitter=0.1[,attempts=10]. Run 'sluice run --help'",
    ],
    [
      'bad restart option',
      ['run', 'job.ts', '--restart-strategy', 'fixed-delay:tries=3'],
      "invalid value 'fixed-delay:tries=3' for --restart-strategy: unknown option 'tries' for fixed-delay restart strategy; valid options: attempts, delay. Run 'sluice run --help'",
    ],
    ['empty checkpoint dir', ['run', 'job.ts', '--checkpoint-dir='], "invalid value '' for --checkpoint-dir: expected a directory. Run 'sluice run --help'"],
    ['allow without savepoint', ['run', 'job.ts', '--allow-non-restored-state'], "--allow-non-restored-state only applies with --from-savepoint <path>. Run 'sluice run --help'"],
    ['savepoint without job id', ['savepoint'], "missing job id: sluice savepoint <jobId> [targetDirectory] ('sluice list' shows the ids). Run 'sluice savepoint --help'"],
    ['savepoint with a bad job id', ['savepoint', '../etc'], "invalid job id '../etc': expected letters, digits, '.', '_' or '-' as 'sluice list' shows them. Run 'sluice savepoint --help'"],
    ['savepoint with three arguments', ['savepoint', 'a', 'b', 'c'], "unexpected argument 'c'. Run 'sluice savepoint --help'"],
    ['stop without a path', ['stop', 'abc'], "missing --savepoint-path <dir>: stop takes a savepoint into that directory before the job ends. Run 'sluice stop --help'"],
    ['stop with drain=yes', ['stop', 'abc', '--savepoint-path', 'x', '--drain=yes'], "option --drain takes no value. Run 'sluice stop --help'"],
    ['list with an argument', ['list', 'all'], "unexpected argument 'all'. Run 'sluice list --help'"],
    ['cancel without job id', ['cancel'], "missing job id: sluice cancel <jobId> ('sluice list' shows the ids). Run 'sluice cancel --help'"],
    ['https address', ['list', '--address', 'https://h:8081'], "invalid value 'https://h:8081' for --address: expected an http:// URL like http://127.0.0.1:8081 (the REST API speaks plain HTTP). Run 'sluice list --help'"],
    ['address with a query', ['list', '--address', 'http://h:1/?a=1'], "invalid value 'http://h:1/?a=1' for --address: expected a URL like http://127.0.0.1:8081, without query, fragment or credentials. Run 'sluice list --help'"],
    ['address that is no URL', ['cancel', 'j', '--address', 'h:port'], "invalid value 'h:port' for --address: expected a URL like http://127.0.0.1:8081. Run 'sluice cancel --help'"],
    ['run flag on savepoint', ['savepoint', 'j', '-p', '2'], "unknown option '-p'. Run 'sluice savepoint --help'"],
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

describe('REST security flags', () => {
  it('parses --rest-token-file, --rest-allowed-host and --savepoint-root on run, repeatable where they say so', () => {
    const argv = ['run', 'j.ts', '--rest-token-file', 't/token', '--rest-allowed-host', 'devbox', '--rest-allowed-host=tunnel.lan:9000', '--savepoint-root', 'sp', '--savepoint-root', '/srv/sp'];
    expect(parseCommandLine(argv)).toEqual({
      kind: 'run',
      options: { jobFile: 'j.ts', params: {}, verbose: false, ...D, restTokenFile: 't/token', restAllowedHosts: ['devbox', 'tunnel.lan:9000'], savepointRoots: ['sp', '/srv/sp'] },
    });
  });

  it.each(['savepoint', 'stop', 'list', 'cancel'])('takes --rest-token-file on %s', (command) => {
    const argv = [command, ...(command === 'list' ? [] : ['abc']), ...(command === 'stop' ? ['--savepoint-path', 'sp'] : []), '--rest-token-file', '/t/rest.token'];
    expect(parseCommandLine(argv)).toMatchObject({ kind: command, options: { restTokenFile: '/t/rest.token' } });
  });

  it.each<[string[], string]>([
    [['run', 'j.ts', '--rest-allowed-host', 'http://devbox'], "invalid value 'http://devbox' for --rest-allowed-host: expected a host name with an optional :port, without scheme or path (e.g. myhost:8081). Run 'sluice run --help'"],
    [['run', 'j.ts', '--rest-allowed-host', '*'], "invalid value '*' for --rest-allowed-host: '*' is not a host name or an IPv4 address. Run 'sluice run --help'"],
    [['run', 'j.ts', '--rest-allowed-host', 'devbox:99999'], "invalid value 'devbox:99999' for --rest-allowed-host: port '99999' is not a number in 1..65535. Run 'sluice run --help'"],
    [['run', 'j.ts', '--savepoint-root='], "invalid value '' for --savepoint-root: expected a directory. Run 'sluice run --help'"],
    [['run', 'j.ts', '--rest-token-file='], "invalid value '' for --rest-token-file: expected a file path. Run 'sluice run --help'"],
    [['cancel', 'j', '--rest-token-file', ' '], "invalid value '' for --rest-token-file: expected a file path. Run 'sluice cancel --help'"],
    [['cancel', 'j', '--savepoint-root', 'sp'], "unknown option '--savepoint-root'. Run 'sluice cancel --help'"],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(message);
  });
});
