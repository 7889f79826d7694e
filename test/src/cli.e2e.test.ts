/**
 * The real `sluice` binary as a child process: exit codes, the one line a user reads on stderr
 * for every kind of mistake, the output of `run`, `plan` and `--help`, and Ctrl-C. Relies on the
 * packages' dist being built (`npx tsc -b`); it does not build them itself.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses, exitWithin, lines, TOKEN_LINE, until, type CliProcesses, type Outcome, type Started } from './cli-process.js';
import { jobPath } from './harness.js';

let scratch = '';
/** Every child the file starts runs in `scratch`; afterEach kills whatever is still running. */
let cli: CliProcesses;

beforeAll(() => {
  // realpath: the CLI reports resolved paths, and tmpdir() may be a symlink.
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-cli-e2e-')));
  cli = cliProcesses(scratch);
});

afterEach(() => cli.killAll());

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

function start(args: string[]): Started {
  return cli.start(args);
}

/**
 * Runs `sluice args…` to completion; a run that outlives `timeoutMs` is killed and fails the
 * test. The bound is for a hung process: a busy machine can take many seconds to start Node,
 * bundle a job and run it.
 */
function sluice(args: string[], timeoutMs = 60_000): Promise<Outcome> {
  return cli.run(args, { timeoutMs });
}

/**
 * Runs independent `sluice` invocations side by side, but no more at once than there are cores:
 * more only make each one slower, until a busy machine pushes them past their time limit.
 */
async function sluiceAll(invocations: string[][]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(invocations.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < invocations.length; i = next++) outcomes[i] = await sluice(invocations[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), invocations.length) }, lane));
  return outcomes;
}

function writeJob(name: string, source: string): string {
  const path = join(scratch, name);
  writeFileSync(path, source);
  return path;
}

const NO_STACK = /^\s+at /m;

describe('broken job files', () => {
  it('reports a missing job file with exit code 1 and one line naming where it looked', async () => {
    const r = await sluice(['run', 'missing-job.ts']);
    expect(r).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr: `sluice: error: job file not found: 'missing-job.ts' (looked at ${join(scratch, 'missing-job.ts')}); check the path\n`,
    });
  });

  it('reports a TypeScript syntax error with file:line:column', async () => {
    writeJob('syntax-error.ts', "import type { StreamExecutionEnvironment } from '@sluice/api';\nexport default (env: StreamExecutionEnvironment) => {\n  const x = ;\n};\n");
    // The path as the user gave it, relative to the working directory.
    const r = await sluice(['run', 'syntax-error.ts']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('sluice: error: cannot compile job: syntax-error.ts:3:13: Unexpected ";"\n');
  });

  it('reports a job module without a default export', async () => {
    const file = writeJob('no-default.ts', 'export function build(): void {}\n');
    const r = await sluice(['run', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^sluice: error: job module \S+no-default\.ts has no default export function; export `default \(env: StreamExecutionEnvironment\) => \{ \.\.\. \}` that builds the pipeline\n$/,
    );
  });

  it('reports a job that throws while being built, with the thrown text', async () => {
    const r = await sluice(['run', jobPath('failing.ts'), '-D', 'where=build']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^sluice: error: building the job in \S+ threw: the job refused to build: missing configuration "table"\n$/);
    // Nothing was submitted: the job failed before any cluster started.
    expect(r.stderr).not.toContain('submitted');
  });

  // ENGINE BUG (see report): both messages name the esbuild bundle (…/node_modules/.cache/sluice/
  // failing-<hash>.mjs or $TMPDIR/sluice-jobs/no-default-<hash>.mjs) instead of the file the user
  // passed, because loadJob() labels errors with artifact.entry. Remove `.fails` once fixed.
  it("names the user's job file, not the compiled bundle, when the module is unusable", async () => {
    const file = writeJob('no-default-2.ts', 'export const answer = 42;\n');
    const [noDefault, buildThrows] = await Promise.all([sluice(['run', file]), sluice(['run', jobPath('failing.ts'), '-D', 'where=build'])]);
    expect(noDefault.stderr).toContain(`job module ${file} has no default export`);
    expect(buildThrows.stderr).toContain(`building the job in ${jobPath('failing.ts')} threw`);
  });
});

describe('bad usage', () => {
  const run = (...rest: string[]) => ['run', jobPath('smoke.ts'), ...rest];
  const cases: [string, string[], string][] = [
    ['an unknown flag', run('--frobnicate'), "unknown option '--frobnicate'. Run 'sluice run --help'"],
    ['an unknown top-level flag', ['--frobnicate'], "unknown option '--frobnicate'. Run 'sluice --help'"],
    ['-p 0', run('-p', '0'), "invalid value '0' for -p/--parallelism: expected a positive integer. Run 'sluice run --help'"],
    ['-p abc', run('-p', 'abc'), "invalid value 'abc' for -p/--parallelism: expected a positive integer. Run 'sluice run --help'"],
    ['plan -p 0', ['plan', jobPath('smoke.ts'), '-p', '0'], "invalid value '0' for -p/--parallelism: expected a positive integer. Run 'sluice plan --help'"],
    [
      '--buffer-timeout -1',
      run('--buffer-timeout', '-1'),
      "option --buffer-timeout needs a value (for a value starting with '-', write --buffer-timeout=-VALUE). Run 'sluice run --help'",
    ],
    [
      '--buffer-timeout=-1',
      run('--buffer-timeout=-1'),
      "invalid value '-1' for --buffer-timeout: expected a non-negative number of milliseconds. Run 'sluice run --help'",
    ],
    [
      '--metrics-port 70000',
      run('--metrics-port', '70000'),
      "invalid value '70000' for --metrics-port: expected a port number 0..65535 (0 picks a free port). Run 'sluice run --help'",
    ],
    ['-D without =', run('-D', 'table'), "invalid value 'table' for -D: expected key=value. Run 'sluice run --help'"],
    [
      '--checkpoint-interval 5',
      run('--checkpoint-interval', '5'),
      "invalid value '5' for --checkpoint-interval: expected a duration in whole milliseconds with a unit, like 500ms, 1s or 2min (0 turns checkpoints off). Run 'sluice run --help'",
    ],
    [
      '--restart-strategy fixed-delay:attempts=x',
      run('--restart-strategy', 'fixed-delay:attempts=x'),
      "invalid value 'fixed-delay:attempts=x' for --restart-strategy: fixed-delay restart strategy option 'attempts' must be a whole number or 'unlimited'; got 'x'. Run 'sluice run --help'",
    ],
    ['--rest-port 99999', run('--rest-port', '99999'), "invalid value '99999' for --rest-port: expected a port number 0..65535 (0 picks a free port). Run 'sluice run --help'"],
    ['--allow-non-restored-state alone', run('--allow-non-restored-state'), "--allow-non-restored-state only applies with --from-savepoint <path>. Run 'sluice run --help'"],
    ['stop without --savepoint-path', ['stop', 'abc'], "missing --savepoint-path <dir>: stop takes a savepoint into that directory before the job ends. Run 'sluice stop --help'"],
    ['savepoint without a job id', ['savepoint'], "missing job id: sluice savepoint <jobId> [targetDirectory] ('sluice list' shows the ids). Run 'sluice savepoint --help'"],
    ['-D with an empty key', run('-D', '=x'), "invalid value '=x' for -D: expected key=value. Run 'sluice run --help'"],
    // Usage is checked before the job file is even looked at.
    ['a bad flag with a missing file', ['run', 'missing-job.ts', '-p', '0'], "invalid value '0' for -p/--parallelism: expected a positive integer. Run 'sluice run --help'"],
  ];

  it('rejects each with exit code 2 and exactly one line on stderr', async () => {
    // Independent processes: run them side by side.
    const outcomes = await sluiceAll(cases.map(([, args]) => args));
    outcomes.forEach((r, i) => {
      const [what, , message] = cases[i]!;
      expect({ what, ...r }).toEqual({ what, code: 2, signal: null, stdout: '', stderr: `sluice: error: ${message}\n` });
    });
  }, 300_000);
});

describe('a job whose user function throws at runtime', () => {
  const ERROR_LINE =
    /^sluice: error: job 'failing' failed after \d+\.\d\d s: operator 'score' \(subtask 0\) threw while processing record \{"seq":5000,"card":"card-53"\}: cannot score card card-53$/;

  it('fails with exit code 1 and one error line naming the operator, the subtask and the record, without a stack', async () => {
    const r = await sluice(['run', jobPath('failing.ts'), '--rest-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const err = lines(r.stderr);
    expect(err[0]).toMatch(/^Job 'failing' \([0-9a-f]{32}\) submitted; REST API at http:\/\/127\.0\.0\.1:\d+$/);
    expect(err.filter((l) => l.startsWith('sluice: error:'))).toHaveLength(1);
    expect(err.at(-1)).toMatch(ERROR_LINE);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  it('adds the stack trace with --verbose', async () => {
    const r = await sluice(['run', jobPath('failing.ts'), '--verbose', '--rest-port', '0']);
    expect(r.code).toBe(1);
    const err = lines(r.stderr);
    const at = err.findIndex((l) => ERROR_LINE.test(l));
    expect(at).toBeGreaterThan(0);
    expect(err[at + 1]).toBe(`UserFunctionError: ${err[at]!.replace(/^.*failed after \d+\.\d\d s: /, '')}`);
    expect(err[at + 2]).toMatch(/^\s+at /);
  });

  // ENGINE BUG (see report): serializeError() drops `cause`, so the --verbose trace of a runtime
  // failure shows only engine frames (chain-outputs.js, stream-task.js, …) and never the line of
  // the user's function that threw — unlike build failures, which print "Caused by:" with it.
  it("reaches the user's function in the --verbose stack trace", async () => {
    const r = await sluice(['run', jobPath('failing.ts'), '--verbose', '--rest-port', '0']);
    expect(r.stderr).toContain(`${jobPath('failing.ts')}:16:`);
  });
});

describe('run and plan', () => {
  it('runs a bounded job, prints its output and the summary line, and exits 0', async () => {
    const r = await sluice(['run', jobPath('smoke.ts'), '-p', '2', '--rest-port', '0']);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    // 20 numbers doubled, rolling sums per key (x % 3) printed by 2 subtasks, then the summary.
    const printed = out.slice(0, -1);
    expect(printed).toHaveLength(20);
    for (const l of printed) expect(l).toMatch(/^out [12]> \d+$/);
    const values = printed.map((l) => Number(l.split('> ')[1]));
    const totals = new Map<number, number>();
    for (let x = 1; x <= 20; x++) totals.set((2 * x) % 3, (totals.get((2 * x) % 3) ?? 0) + 2 * x);
    for (const total of totals.values()) expect(values).toContain(total);
    expect(Math.max(...values)).toBe(Math.max(...totals.values()));
    expect(out.at(-1)).toMatch(/^Job 'Sluice job' FINISHED in \d+\.\d\d s: 20 records from sources \([\d,]+ records\/s\)$/);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^Job 'Sluice job' \([0-9a-f]{32}\) submitted; REST API at http:\/\/127\.0\.0\.1:\d+$/), expect.stringMatching(TOKEN_LINE)]);
  });

  it('plans a keyed job: chains, parallelism and the hash exchange', async () => {
    const r = await sluice(['plan', jobPath('keyed-state.ts'), '-p', '3']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        "Job 'keyed state': 2 chains, 1 exchange",
        '  default parallelism 3, max parallelism 128, buffer timeout 5 ms, watermark interval 200 ms',
        '  checkpoints off',
        '  restart strategy none',
        '',
        'v1  Source: events -> Timestamps/Watermarks  [source]',
        '    parallelism 3, max parallelism 128',
        '    #1 Source: events (source)',
        '    #2 Timestamps/Watermarks (timestampsAndWatermarks)',
        'v2  key stats -> Sink: Collect(reports)  [sink]',
        '    parallelism 3, max parallelism 128',
        '    #3 key stats (keyedProcess)',
        '    #4 Sink: Collect(reports) (collect)',
        '',
        'Exchanges:',
        '  v1 --hash--> v2   (#2 Timestamps/Watermarks -> #3 key stats)',
        '',
      ].join('\n'),
    );
  });

  it('plans the checkpoints a run would take: interval, resolved directory, restart strategy', async () => {
    const r = await sluice(['plan', jobPath('keyed-state.ts'), '--checkpoint-interval', '2s', '--checkpoint-dir', 'ck', '--tolerable-failed-checkpoints', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout).slice(2, 4)).toEqual([
      `  checkpoints every 2s into ${join(scratch, 'ck')} (timeout 10min, min pause 0ms, 1 retained, 2 failed in a row tolerated)`,
      '  restart strategy exponential-delay:initial=1s,max=1min,multiplier=1.5,reset-after=1h,jitter=0.1',
    ]);
  });

  it('prints help for the top level, run and plan', async () => {
    const [top, run, plan, helpRun] = await Promise.all([sluice(['--help']), sluice(['run', '--help']), sluice(['plan', '-h']), sluice(['help', 'run'])]);
    for (const r of [top, run, plan, helpRun]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
    }
    expect(lines(top.stdout)[0]).toBe('Usage: sluice <command> [options]');
    expect(top.stdout).toMatch(/^ {2}run <job> +Run a job on an embedded cluster/m);
    expect(top.stdout).toMatch(/^ {2}plan <job> +Print the job's execution plan/m);
    expect(lines(run.stdout)[0]).toBe('Usage: sluice run <job.ts|job.js> [options]');
    for (const flag of ['-p, --parallelism <N>', '--buffer-timeout <ms>', '-D <key=value>', '--metrics-port <N>', '--verbose', '--rest-port <N>', '--checkpoint-interval <duration>', '--checkpoint-dir <dir>', '--restart-strategy <spec>', '--from-savepoint <path>', '--allow-non-restored-state']) {
      expect(run.stdout).toContain(flag);
    }
    for (const command of ['list', 'savepoint <jobId>', 'stop <jobId>', 'cancel <jobId>']) expect(top.stdout).toMatch(new RegExp(`^ {2}${command} +\\S`, 'm'));
    expect(run.stdout).toContain('Exit codes: 0 finished, 1 failed, 2 bad usage or unusable checkpoint directory, 130 cancelled.');
    expect(helpRun.stdout).toBe(run.stdout);
    expect(lines(plan.stdout)[0]).toBe('Usage: sluice plan <job.ts|job.js> [options]');
    expect(plan.stdout).toContain('-p, --parallelism <N>');
    expect(plan.stdout).toContain('--checkpoint-interval <duration>');
    expect(plan.stdout).not.toContain('--rest-port');
    expect(plan.stdout).not.toContain('--metrics-port');
  });
});

describe('Ctrl-C', () => {
  const UNBOUNDED = jobPath('unbounded-keyed.ts');
  const CANCELLING = 'sluice: SIGINT received, cancelling the job (press Ctrl-C again to exit immediately)';
  let cancelled: Outcome | undefined;

  it('cancels a running unbounded job and exits 130', async () => {
    const s = start(['run', UNBOUNDED, '-p', '2', '--rest-port', '0']);
    // The Ctrl-C must find the job running: wait for its first output.
    await until('the job to print', () => s.out.stdout.includes('\n') || s.child.exitCode !== null, 60_000);
    expect(s.child.exitCode, s.out.stderr).toBeNull();
    s.child.kill('SIGINT');
    const r = await exitWithin(s, 60_000);
    cancelled = r;
    expect(r.signal).toBeNull(); // it exited by itself, not killed by the hang guard
    expect(r.code).toBe(130);
    expect(lines(r.stdout)[0]).toMatch(/^count[12]> k\d reached 1$/);
    const err = lines(r.stderr);
    expect(err[0]).toMatch(/^Job 'unbounded keyed' \([0-9a-f]{32}\) submitted; REST API at http:\/\/127\.0\.0\.1:\d+$/);
    expect(err[1]).toMatch(TOKEN_LINE);
    expect(err[2]).toBe(CANCELLING);
    expect(err.at(-1)).toMatch(/^Job 'unbounded keyed' CANCELED after \d+\.\d\d s(: [\d,]+ records? from sources \([\d,]+ records\/s\))?$/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  // The summary of a cancelled job counts what its subtasks read before the cancel.
  it('reports how many records the cancelled job read', () => {
    expect(cancelled).toBeDefined();
    const summary = lines(cancelled!.stderr).at(-1)!;
    const n = Number(/: ([\d,]+) records? from sources/.exec(summary)?.[1]?.replaceAll(',', ''));
    expect(n).toBeGreaterThan(0);
  });

  it('exits at once on a second Ctrl-C while the cancel is still in progress', async () => {
    // stuckAt=0: a subtask spins forever, so the cooperative cancel cannot finish (the runner
    // only terminates the thread after its 5 s cancel timeout). The marker file says the loop
    // runs: a Ctrl-C before that would be an ordinary, quick cancel.
    const marker = join(scratch, 'ctrl-c-spinning');
    const s = start(['run', UNBOUNDED, '-p', '2', '-D', 'stuckAt=0', '-D', `stuckMarker=${marker}`, '--rest-port', '0']);
    await until('the user function to spin', () => existsSync(marker) || s.child.exitCode !== null, 60_000);
    expect(s.child.exitCode, s.out.stderr).toBeNull();
    s.child.kill('SIGINT');
    await until('the cancelling notice', () => s.out.stderr.includes(CANCELLING), 60_000);
    expect(s.child.exitCode).toBeNull(); // still cancelling
    s.child.kill('SIGINT');
    const r = await exitWithin(s, 60_000);
    // It ends the way an un-handled Ctrl-C does (the shell reports 130), without waiting for threads.
    expect(r.signal).toBe('SIGINT');
    const err = lines(r.stderr);
    expect(err.filter((l) => l === CANCELLING)).toHaveLength(1);
    // It did not wait for the job to end (which the runner's kill brings about 5 s after the
    // first Ctrl-C, with a CANCELED summary): the second Ctrl-C ended the process.
    expect(r.stderr).not.toContain('CANCELED after');
    // Even so, the REST token file is gone.
    expect(existsSync(TOKEN_LINE.exec(r.stderr)![2]!)).toBe(false);
  });

  it('ends within --shutdown-timeout after SIGTERM even when a thread hangs in a system call', async () => {
    // stuck=native: a subtask hangs in the kernel (as on a hung mount); neither cancelling nor
    // terminating its thread can end it, and without the bound the process would never exit.
    const marker = join(scratch, 'stuck-native');
    const s = start(['run', UNBOUNDED, '-D', 'stuckAt=0', '-D', 'stuck=native', '-D', `stuckMarker=${marker}`, '--rest-port', '0', '--shutdown-timeout', '2s']);
    await until('a subtask to be stuck', () => existsSync(marker) || s.child.exitCode !== null, 60_000);
    expect(s.child.exitCode, s.out.stderr).toBeNull();
    s.child.kill('SIGTERM');
    const r = await exitWithin(s, 60_000);
    expect(r, r.stderr).toMatchObject({ signal: 'SIGTERM' }); // ended by the bound, not by the test's SIGKILL guard
    const err = lines(r.stderr);
    const notice = err.indexOf('sluice: SIGTERM received, cancelling the job (press Ctrl-C again to exit immediately)');
    const bound = err.indexOf('sluice: the job did not stop within 2s of SIGTERM (--shutdown-timeout); ending the process without waiting for it');
    expect(notice).toBeGreaterThanOrEqual(0);
    expect(bound).toBeGreaterThan(notice);
  });
});

describe('storage paths', () => {
  it('refuses a checkpoint directory under /proc with exit 2 and one line, before the job starts', async () => {
    const r = await sluice(['run', jobPath('smoke.ts'), '--checkpoint-interval', '1s', '--checkpoint-dir', '/proc/sluice-e2e/checkpoints']);
    expect(r).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr:
        'sluice: error: checkpoint directory /proc/sluice-e2e/checkpoints cannot be used: /proc is on procfs, a kernel pseudo-filesystem that cannot hold files; ' +
        'choose a directory on a local disk or a shared mount that this process can write\n',
    });
  });

  it('refuses a checkpoint directory that is a file', async () => {
    const file = writeJob('not-a-dir', 'x\n');
    const r = await sluice(['run', jobPath('smoke.ts'), '--checkpoint-interval', '1s', '--checkpoint-dir', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`sluice: error: checkpoint directory ${file} cannot be used: it exists and is not a directory; choose a directory on a local disk or a shared mount that this process can write\n`);
  });
});
