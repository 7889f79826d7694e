import { describe, expect, it } from 'vitest';
import { UsageError } from './arg-parsing.js';
import { parseCluster, parseMesosSession } from './cluster-args.js';
import { describeJobDefaults, jobDefaultsArgs } from './job-defaults-args.js';
import { parseMesosJob } from './mesos-job-args.js';

const start = (...args: string[]) => parseCluster(['start', ...args], { cluster: 'HELP' });
const refusal = (parse: () => unknown): string => {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message.replace(/\. Run 'sluice [a-z-]+ --help'$/, '');
  }
  throw new Error('accepted');
};

const ALL = ['--default-parallelism', '4', '--default-checkpoint-dir', 'ck', '--default-checkpoint-interval', '10s', '-D', 'bootstrap=kafka-1:9092', '-D', 'url=a=b', '-D', 'bootstrap=kafka-2:9092', '-D', 'empty='];
const PARSED = { parallelism: 4, checkpointDir: 'ck', checkpointIntervalMs: 10_000, params: { bootstrap: 'kafka-2:9092', url: 'a=b', empty: '' } };

describe('the job defaults of cluster start and mesos-session', () => {
  it('are parsed as submit parses -p, --checkpoint-interval and -D (the last -D of a key wins), and absent without flags', () => {
    expect(start(...ALL)).toMatchObject({ kind: 'cluster-start', options: { jobDefaults: PARSED } });
    expect(parseMesosSession(['--master', 'm:5050', ...ALL], 'HELP')).toMatchObject({ kind: 'mesos-session', options: { jobDefaults: PARSED } });
    expect((start() as { options: object }).options).not.toHaveProperty('jobDefaults');
    expect(start('--default-checkpoint-interval', '0')).toMatchObject({ options: { jobDefaults: { checkpointIntervalMs: 0 } } });
  });

  it.each([
    [['--default-parallelism', '0'], "invalid value '0' for --default-parallelism: expected a positive integer"],
    [['--default-parallelism', '2.5'], "invalid value '2.5' for --default-parallelism: expected a positive integer"],
    [['--default-checkpoint-interval', '10'], "invalid value '10' for --default-checkpoint-interval: expected a duration in whole milliseconds with a unit, like 500ms, 1s or 2min (0 turns checkpoints off)"],
    [['--default-checkpoint-dir', ''], "invalid value '' for --default-checkpoint-dir: expected a directory"],
    [['-D', 'bootstrap'], "invalid value 'bootstrap' for -D: expected key=value"],
    [['-D', '=x'], "invalid value '=x' for -D: expected key=value"],
  ])('refuse %j: %s', (args, message) => {
    expect(refusal(() => start(...args))).toBe(message);
    expect(refusal(() => parseMesosSession(['--master', 'm:5050', ...args], 'HELP'))).toBe(message);
  });

  it('reach a detached cluster as the same flags (the directory already resolved by then)', () => {
    const given = { ...PARSED, checkpointDir: '/srv/ck', checkpointIntervalMs: 1500 };
    expect(start(...jobDefaultsArgs(given))).toMatchObject({ options: { jobDefaults: given } });
    expect(start(...jobDefaultsArgs({ checkpointIntervalMs: 0 }))).toMatchObject({ options: { jobDefaults: { checkpointIntervalMs: 0 } } });
  });
});

describe('mesos-job', () => {
  it("refuses --default-* (its cluster runs its one job), and its -D stays the job's parameter", () => {
    const job = (...args: string[]) => parseMesosJob(['job.ts', '--master', 'm:5050', ...args], 'HELP');
    expect(refusal(() => job('--default-parallelism', '2'))).toBe("--default-parallelism is not supported by mesos-job: its cluster runs this one job, whose own flags set it; use -p");
    expect(refusal(() => job('--default-checkpoint-dir', '/ck'))).toBe('--default-checkpoint-dir is not supported by mesos-job: its cluster runs this one job, whose own flags set it; use --checkpoint-dir');
    expect(refusal(() => job('--default-checkpoint-interval', '1s'))).toMatch(/use --checkpoint-interval$/);
    const parsed = job('-D', 'k=v');
    expect(parsed).toMatchObject({ kind: 'mesos-job', options: { params: { k: 'v' } } });
    expect((parsed as { options: { cluster: object } }).options.cluster).not.toHaveProperty('jobDefaults');
  });
});

describe('describeJobDefaults', () => {
  it.each([
    [{}, ''],
    [{ parallelism: 4, checkpointDir: '/mnt/ck', checkpointIntervalMs: 10_000, params: { bootstrap: 'secret-ish', topic: 't' } }, '-p 4, checkpoints every 10s to /mnt/ck, -D bootstrap=…, -D topic=…'],
    [{ checkpointDir: '/mnt/ck' }, 'checkpoints to /mnt/ck'],
    [{ checkpointIntervalMs: 90_000 }, 'checkpoints every 90s'],
    [{ checkpointIntervalMs: 0, checkpointDir: '/mnt/ck' }, 'no checkpoints (directory /mnt/ck)'],
  ])('%j → %s', (defaults, line) => {
    expect(describeJobDefaults(defaults)).toBe(line);
  });
});
