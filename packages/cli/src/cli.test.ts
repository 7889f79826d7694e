import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, SluiceError } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, type JobArtifact, type JobConfig } from '@sluice/protocol';
import { runCli, type CliDependencies, type CliSignal, type SignalSource } from './cli.js';
import type { Engine, EnginePlan, EngineRunOptions, EngineRunResult, JobProgress } from './engine.js';
import type { StatusTerminal } from './status-line.js';

/** An engine whose run outcome each test scripts; it records what it was asked to do. */
class TestingEngine implements Engine {
  artifacts: JobArtifact[] = [];
  runOptions: EngineRunOptions | undefined;
  /** `jobSets`: what the job's own code configures, which wins over the flags. */
  constructor(
    private readonly outcome: (options: EngineRunOptions) => Promise<EngineRunResult>,
    private readonly jobSets: Partial<JobConfig> = {},
    private readonly progress?: () => JobProgress,
  ) {}
  async plan(artifact: JobArtifact): Promise<EnginePlan> {
    this.artifacts.push(artifact);
    return { text: 'Vertex 1: Source: numbers (parallelism 2)', config: this.config(artifact) };
  }
  private config(artifact: JobArtifact): JobConfig {
    return { ...DEFAULT_JOB_CONFIG, ...artifact.config, ...(artifact.parallelism === undefined ? {} : { defaultParallelism: artifact.parallelism }), ...this.jobSets };
  }
  run(artifact: JobArtifact, options: EngineRunOptions): Promise<EngineRunResult> {
    this.artifacts.push(artifact);
    this.runOptions = options;
    options.onStarted?.({
      jobId: 'j1',
      jobName: 'numbers',
      ...(options.restPort === undefined ? {} : { restUrl: `http://127.0.0.1:${options.restPort === 0 ? 40123 : options.restPort}` }),
      ...(options.metricsPort === undefined ? {} : { metricsUrl: 'http://127.0.0.1:9999/metrics' }),
      config: this.config(artifact),
      ...(this.progress === undefined ? {} : { progress: this.progress }),
    });
    return this.outcome(options);
  }
}

class TestingSignals implements SignalSource {
  private readonly listeners = new Map<CliSignal, Set<(s: CliSignal) => void>>();
  on(signal: CliSignal, fn: (s: CliSignal) => void): void {
    if (!this.listeners.has(signal)) this.listeners.set(signal, new Set());
    this.listeners.get(signal)?.add(fn);
  }
  off(signal: CliSignal, fn: (s: CliSignal) => void): void {
    this.listeners.get(signal)?.delete(fn);
  }
  emit(signal: CliSignal): void {
    for (const fn of this.listeners.get(signal) ?? []) fn(signal);
  }
  count(): number {
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0);
  }
}

function finished(status: EngineRunResult['status'] = 'FINISHED', extra: Partial<EngineRunResult> = {}): EngineRunResult {
  return {
    jobId: 'j1',
    jobName: 'numbers',
    status,
    durationMs: 2000,
    collected: {},
    operators: [{ nodeId: 1, name: 'Source: numbers', vertexId: 'v1', recordsIn: 0, recordsOut: 5000 }],
    sourceNodeIds: [1],
    ...extra,
  };
}

function harness(engine: Engine, compile: (p: string) => Promise<string> = async (p) => `/abs/${p}.mjs`) {
  const out: string[] = [];
  const err: string[] = [];
  const terminated: CliSignal[] = [];
  const signals = new TestingSignals();
  const deps: CliDependencies = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    loadEngine: async () => engine,
    compileJob: compile,
    signals,
    terminate: (s) => terminated.push(s),
    cwd: () => '/home/u/work',
    env: { SLUICE_HOME: stateDir },
  };
  return { deps, out, err, terminated, signals };
}

/** SLUICE_HOME of every run here, so no test writes a token file into the real home. */
let stateDir = '';
beforeAll(() => {
  stateDir = join(realpathSync(mkdtempSync(join(tmpdir(), 'sluice-cli-test-'))), 'state');
});
afterAll(() => rmSync(join(stateDir, '..'), { recursive: true, force: true }));

describe('runCli', () => {
  it('runs a job, passes flags through, and prints the summary', async () => {
    const engine = new TestingEngine(async () => finished());
    const h = harness(engine);
    const code = await runCli(['run', 'job.ts', '-p', '2', '--buffer-timeout', '0', '-D', 'n=5', '--metrics-port', '0'], h.deps);
    expect(code).toBe(0);
    expect(engine.artifacts).toEqual([{ entry: '/abs/job.ts.mjs', source: 'job.ts', params: { n: '5' }, parallelism: 2, config: { bufferTimeoutMs: 0 } }]);
    expect(engine.runOptions?.metricsPort).toBe(0);
    expect(engine.runOptions?.restPort).toBe(8081);
    expect(engine.runOptions?.restoreFrom).toBeUndefined();
    expect(h.err.join('')).toBe("Job 'numbers' (j1) submitted; REST API at http://127.0.0.1:8081; metrics at http://127.0.0.1:9999/metrics\n");
    expect(h.out.join('')).toBe("Job 'numbers' FINISHED in 2.00 s: 5,000 records from sources (2,500 records/s)\n");
    expect(h.signals.count()).toBe(0);
  });

  it('passes checkpoint, restart and savepoint flags on, with paths resolved against the working directory', async () => {
    const engine = new TestingEngine(async () => finished());
    const h = harness(engine);
    const argv = ['run', 'job.ts', '--checkpoint-interval', '500ms', '--checkpoint-dir', 'chk', '--restart-strategy', 'fixed-delay:attempts=2', '--from-savepoint', '../sp/savepoint-1', '--allow-non-restored-state', '--rest-port', '0'];
    expect(await runCli(argv, h.deps)).toBe(0);
    expect(engine.artifacts[0]?.config).toEqual({ checkpointIntervalMs: 500, checkpointDir: '/home/u/work/chk', restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 1000 } });
    expect(engine.runOptions?.restoreFrom).toEqual({ path: '/home/u/sp/savepoint-1', allowNonRestoredState: true });
    expect(engine.runOptions?.restPort).toBe(0);
    expect(h.err[0]).toBe("Job 'numbers' (j1) submitted; REST API at http://127.0.0.1:40123\n");
  });

  it('suggests --rest-port 0 when the REST port is taken', async () => {
    const busy = new SluiceError('REST_PORT_IN_USE', 'the REST API cannot listen on 127.0.0.1:8081: the port is already in use');
    const engine: Engine = { plan: () => Promise.reject(new Error('unused')), run: () => Promise.reject(busy) };
    const h = harness(engine);
    expect(await runCli(['run', 'job.ts'], h.deps)).toBe(1);
    expect(h.err).toEqual([
      "sluice: error: cannot serve the REST API on 127.0.0.1:8081: the port is already in use (another 'sluice run'?); pass --rest-port 0 for any free port, or --rest-port <N>\n",
    ]);
  });

  it('reports a failed job in one line, with the stack only when verbose', async () => {
    const failure = { name: 'UserFunctionError', code: 'USER_FUNCTION', message: "operator 'Map' (subtask 0) threw: boom", stack: 'UserFunctionError: boom\n    at map (job.ts:3:9)' };
    for (const verbose of [false, true]) {
      const h = harness(new TestingEngine(async () => finished('FAILED', { error: failure })));
      const code = await runCli(['run', 'job.ts', ...(verbose ? ['--verbose'] : [])], h.deps);
      expect(code).toBe(1);
      const lines = h.err.slice(1).join('');
      const first = "sluice: error: job 'numbers' failed after 2.00 s: operator 'Map' (subtask 0) threw: boom\n";
      expect(lines).toBe(verbose ? `${first}${failure.stack}\n` : first);
    }
  });

  it('turns errors before the job runs into one line, exit 1', async () => {
    const h = harness(new TestingEngine(async () => finished()), async () => {
      throw new ConfigurationError("job file not found: 'x.ts' (looked at /w/x.ts); check the path");
    });
    expect(await runCli(['run', 'x.ts'], h.deps)).toBe(1);
    expect(h.err).toEqual(["sluice: error: job file not found: 'x.ts' (looked at /w/x.ts); check the path\n"]);

    const broken: Engine = { plan: () => Promise.reject(new Error('job build threw: no sink')), run: () => Promise.reject(new Error('unused')) };
    const v = harness(broken);
    expect(await runCli(['plan', 'job.ts', '--verbose'], v.deps)).toBe(1);
    expect(v.err[0]).toBe('sluice: error: job build threw: no sink\n');
    expect(v.err[1]).toMatch(/^Error: job build threw: no sink\n\s+at /);
  });

  it('cancels on the first Ctrl-C and exits at once on the second', async () => {
    const engine = new TestingEngine(
      (options) =>
        new Promise((resolve) => {
          options.signal.addEventListener('abort', () => setTimeout(() => resolve(finished('CANCELED')), 5));
        }),
    );
    const h = harness(engine);
    const running = runCli(['run', 'job.ts'], h.deps);
    await new Promise((r) => setTimeout(r, 1));
    h.signals.emit('SIGINT');
    h.signals.emit('SIGINT');
    expect(h.terminated).toEqual(['SIGINT']);
    expect(await running).toBe(130);
    expect(h.err).toContain('sluice: SIGINT received, cancelling the job (press Ctrl-C again to exit immediately)\n');
    expect(h.err.at(-1)).toBe("Job 'numbers' CANCELED after 2.00 s: 5,000 records from sources (2,500 records/s)\n");
    expect(h.signals.count()).toBe(0);
  });

  it('prints plans, help and usage errors', async () => {
    const h = harness(new TestingEngine(async () => finished()));
    expect(await runCli(['plan', 'job.ts', '-p', '2'], h.deps)).toBe(0);
    expect(h.out).toEqual(['Vertex 1: Source: numbers (parallelism 2)\n']);
    expect(await runCli(['run', '--bogus'], h.deps)).toBe(2);
    expect(h.err).toEqual(["sluice: error: unknown option '--bogus'. Run 'sluice run --help'\n"]);
    expect(await runCli(['--version'], h.deps)).toBe(0);
    expect(h.out.at(-1)).toMatch(/^sluice \d+\.\d+\.\d+\n$/);
  });

  it('ends the process with the signal when the job does not stop within --shutdown-timeout', async () => {
    let release: (() => void) | undefined;
    // A job whose cancellation never completes (say, its storage hangs) until the test lets go.
    const engine = new TestingEngine((options) => new Promise((resolve) => options.signal.addEventListener('abort', () => (release = () => resolve(finished('CANCELED'))))));
    const h = harness(engine);
    const running = runCli(['run', 'job.ts', '--shutdown-timeout', '20ms'], h.deps);
    await until('the job to start', () => h.err.length > 0);
    expect(h.terminated).toEqual([]);
    h.signals.emit('SIGTERM');
    await until('the shutdown timeout', () => h.terminated.length > 0);
    expect(h.terminated).toEqual(['SIGTERM']);
    expect(h.err.slice(-2)).toEqual([
      'sluice: SIGTERM received, cancelling the job (press Ctrl-C again to exit immediately)\n',
      'sluice: the job did not stop within 20ms of SIGTERM (--shutdown-timeout); ending the process without waiting for it\n',
    ]);
    release!();
    expect(await running).toBe(130);
    expect(h.signals.count()).toBe(0);
  });

  it('does not end the process when the job stops within the shutdown timeout', async () => {
    const engine = new TestingEngine((options) => new Promise((resolve) => options.signal.addEventListener('abort', () => resolve(finished('CANCELED')))));
    const h = harness(engine);
    const running = runCli(['run', 'job.ts', '--shutdown-timeout', '20ms'], h.deps);
    await until('the job to start', () => h.err.length > 0);
    h.signals.emit('SIGINT');
    expect(await running).toBe(130);
    // Well past the timeout: it was cleared when the job ended.
    await new Promise((r) => setTimeout(r, 60));
    expect(h.terminated).toEqual([]);
  });

  it('refuses a checkpoint directory the job cannot use with exit 2, before anything runs', async () => {
    const unusable = new SluiceError('STORAGE_DIRECTORY', 'checkpoint directory /proc/x cannot be used: /proc is on procfs, a kernel pseudo-filesystem that cannot hold files; choose a directory on a local disk or a shared mount that this process can write');
    const engine: Engine = { plan: () => Promise.reject(new Error('unused')), run: () => Promise.reject(unusable) };
    const h = harness(engine);
    expect(await runCli(['run', 'job.ts', '--checkpoint-dir', '/proc/x'], h.deps)).toBe(2);
    expect(h.err).toEqual([`sluice: error: ${unusable.message}\n`]);
  });

  it('warns once per flag that the job\'s code overrides, in run and plan', async () => {
    const engine = new TestingEngine(async () => finished(), { checkpointIntervalMs: 5000, defaultParallelism: 3 });
    const h = harness(engine);
    expect(await runCli(['run', 'job.ts', '--checkpoint-interval', '1s', '-p', '3', '--buffer-timeout', '2'], h.deps)).toBe(0);
    const warnings = h.err.filter((l) => l.startsWith('sluice: warning:'));
    expect(warnings).toEqual(["sluice: warning: the job's code sets the checkpoint interval to 5s, which wins over --checkpoint-interval 1s\n"]);
    const p = harness(new TestingEngine(async () => finished(), { defaultParallelism: 4 }));
    expect(await runCli(['plan', 'job.ts', '-p', '2'], p.deps)).toBe(0);
    expect(p.err).toEqual(["sluice: warning: the job's code sets the default parallelism to 4, which wins over -p 2\n"]);
  });

  it('summarises restarts and checkpoints with the last failure', async () => {
    const h = harness(
      new TestingEngine(async () =>
        finished('FINISHED', { restarts: 1, checkpoints: { completed: 14, failed: 2, lastFailure: { checkpointId: 9, timestamp: 1, reason: 'not complete after 60000 ms (checkpoint timeout)' } } }),
      ),
    );
    expect(await runCli(['run', 'job.ts'], h.deps)).toBe(0);
    expect(h.out).toEqual([
      "Job 'numbers' FINISHED in 2.00 s: 5,000 records from sources (2,500 records/s); 1 restart; checkpoints: 14 completed, 2 failed (the last failed one, checkpoint 9: not complete after 60000 ms (checkpoint timeout))\n",
    ]);
  });

  it('keeps a live status line on an interactive terminal, cleared before the summary; none with --quiet', async () => {
    let progress: JobProgress = { status: 'RUNNING', recordsIn: 0, recordsOut: 0, checkpoints: { completed: 0, failed: 0 }, restarts: 0 };
    let finish: (() => void) | undefined;
    const engine = new TestingEngine(() => new Promise((resolve) => (finish = () => resolve(finished()))), {}, () => progress);
    const events: string[] = [];
    const terminal: StatusTerminal = { columns: () => 200, draw: (l) => events.push(`draw ${l}`), clear: () => events.push('clear') };
    const h = harness(engine);
    const running = runCli(['run', 'job.ts'], { ...h.deps, statusTerminal: terminal, stdout: (t) => events.push(`out ${t}`) });
    await until('the first draw', () => events.length > 0);
    expect(events[0]).toMatch(/^draw RUNNING 0\.\d\d s \| in … rec\/s \| out … rec\/s \| restarts 0$/);
    progress = { status: 'RUNNING', recordsIn: 5000, recordsOut: 100, checkpoints: { completed: 3, failed: 1 }, restarts: 1 };
    await until('a redraw with rates', () => events.some((e) => e.includes('checkpoints 3 (1 failed) | restarts 1')));
    expect(events.find((e) => e.includes('checkpoints 3'))).toMatch(/^draw RUNNING \d+\.\d\d s \| in [\d,]+ rec\/s \| out [\d,]+ rec\/s \| checkpoints 3 \(1 failed\) \| restarts 1$/);
    finish!();
    expect(await running).toBe(0);
    // The line goes before the summary is printed, and is not drawn again.
    expect(events.slice(-2)).toEqual(['clear', "out Job 'numbers' FINISHED in 2.00 s: 5,000 records from sources (2,500 records/s)\n"]);

    const quiet: string[] = [];
    const q = harness(new TestingEngine(async () => finished(), {}, () => progress));
    expect(await runCli(['run', 'job.ts', '--quiet'], { ...q.deps, statusTerminal: { columns: () => 80, draw: (l) => quiet.push(l), clear: () => quiet.push('clear') } })).toBe(0);
    expect(quiet).toEqual([]);
  });
});

describe('the REST API of a run', () => {
  const TOKEN = 'tok-0123456789abcdefghijklmnopqrstuvwxyz0123';

  /** An engine that serves "REST" on port 40123 with TOKEN; the run ends when `end` is called. */
  function restEngine(): { engine: TestingEngine; end: (r: EngineRunResult) => void } {
    let end: (r: EngineRunResult) => void = () => {};
    const engine = new TestingEngine((options) => {
      // The TestingEngine's own onStarted call has no token: only this one writes the file.
      options.onStarted?.({ jobId: 'j1', jobName: 'numbers', restUrl: 'http://127.0.0.1:40123', restToken: TOKEN, config: DEFAULT_JOB_CONFIG });
      return new Promise((resolve) => (end = resolve));
    });
    return { engine, end: (r) => end(r) };
  }

  it('writes the token file (0600 in a 0700 directory) once the port is known, prints it with the path, removes it at the end', async () => {
    const { engine, end } = restEngine();
    const h = harness(engine);
    const running = runCli(['run', 'job.ts', '--rest-port', '0', '--rest-allowed-host', 'devbox:9000', '--savepoint-root', 'sp', '--savepoint-root', '/srv/sp'], h.deps);
    const file = join(stateDir, 'rest-40123.token');
    await until('the token file', () => existsSync(file));
    expect(readFileSync(file, 'utf8')).toBe(`${TOKEN}\n`);
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(stateDir).mode & 0o777).toString(8)).toBe('700');
    expect(h.err).toContain(`REST API token (savepoint, stop and cancel need it): ${TOKEN}; kept in ${file} until the run ends\n`);
    expect(h.err.filter((l) => l.includes(TOKEN))).toHaveLength(1);
    const rest = engine.runOptions?.rest;
    expect(rest?.allowedHosts).toEqual(['devbox:9000']);
    expect(rest?.savepointRoots).toEqual(['/home/u/work/sp', '/srv/sp']);
    expect(rest?.tokenHint?.(40123)).toBe(
      `'sluice run' printed the token when it started and keeps it in ${file}; savepoint, stop and cancel send it by themselves, read from --rest-token-file PATH, else $SLUICE_REST_TOKEN, else ${file}`,
    );
    end(finished());
    expect(await running).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('uses --rest-token-file, resolved against the working directory, and removes it on a second Ctrl-C too', async () => {
    const { engine } = restEngine();
    const custom = join(stateDir, '..', 'custom', 'my.token');
    const h = harness(engine);
    h.deps.cwd = () => join(stateDir, '..');
    const running = runCli(['run', 'job.ts', '--rest-token-file', 'custom/my.token'], h.deps);
    await until('the token file', () => existsSync(custom));
    expect(readFileSync(custom, 'utf8')).toBe(`${TOKEN}\n`);
    expect(existsSync(join(stateDir, 'rest-40123.token'))).toBe(false);
    h.signals.emit('SIGINT');
    h.signals.emit('SIGINT');
    expect(h.terminated).toEqual(['SIGINT']);
    expect(existsSync(custom)).toBe(false);
    void running.catch(() => undefined);
  });

  it('refuses to start when the token directory is writable by others, before the job runs', async () => {
    const open = join(stateDir, '..', 'open');
    mkdirSync(open, { recursive: true });
    chmodSync(open, 0o777);
    const engine = new TestingEngine(async () => finished());
    const h = harness(engine);
    h.deps.env = { SLUICE_HOME: open };
    expect(await runCli(['run', 'job.ts'], h.deps)).toBe(1);
    expect(h.err).toEqual([`sluice: error: refusing to keep the REST token in ${open}: ${open} is writable by others (mode 777); chmod 700 ${open}. Choose another place with --rest-token-file PATH or SLUICE_HOME=DIR\n`]);
    expect(engine.runOptions).toBeUndefined();
  });
});

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
