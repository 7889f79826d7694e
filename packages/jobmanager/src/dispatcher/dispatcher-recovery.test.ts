/**
 * The Dispatcher replacing a JobMaster that died: with a job store, a new JobMaster (next
 * attempt) resumes the job from the latest recorded checkpoint; without one, or once cancelled,
 * or after too many replacements, the job fails with JOB_MASTER_LOST. And an ended job's JobMaster
 * is kept while a stop's savepoint call is still being answered.
 */
import { silentLogger } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, LocalRpcService, type JobMasterGateway, type JobResult, type JobSubmission } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, type DispatcherJobStore } from './dispatcher.js';
import type { JobMasterContext, JobMasterRunner, JobMasterTermination } from './job-master-runner.js';

function submission(jobId: string): JobSubmission {
  return {
    jobId,
    jobName: `job ${jobId}`,
    artifact: { entry: '/jobs/test.js', params: {} },
    jobGraph: {
      jobName: `job ${jobId}`,
      vertices: [{ id: 'v', name: 'V', parallelism: 1, maxParallelism: 128, operators: [{ nodeId: 1, name: 'V', kind: 'source' }], isSource: true, isSink: true }],
      edges: [],
      config: { ...DEFAULT_JOB_CONFIG },
    },
  };
}

/** A JobMaster "process": serves a gateway whose result the test settles, and can die. */
class FakeRunner implements JobMasterRunner {
  readonly termination: Promise<JobMasterTermination>;
  private end!: (t: JobMasterTermination) => void;
  private finish!: (r: JobResult) => void;
  cancelled = false;
  private started = false;
  /** Resolves start(): by default at once; a test may hold it to see a starting JobMaster. */
  gate: Promise<void> = Promise.resolve();
  /** What triggerSavepoint answers (a test may hold it, as a stop's copy does). */
  savepoint: Promise<{ path: string }> = Promise.resolve({ path: '/sp/savepoint-1' });
  closed = false;
  constructor(readonly ctx: JobMasterContext) {
    this.termination = new Promise((resolve) => (this.end = resolve));
  }
  get address(): string {
    if (!this.started) throw new Error('no address before start');
    return `${this.ctx.address}#${this.ctx.attempt}`;
  }
  get served(): string {
    return `${this.ctx.address}#${this.ctx.attempt}`;
  }
  async start(): Promise<void> {
    await this.gate;
    this.started = true;
    const result = new Promise<JobResult>((resolve) => (this.finish = resolve));
    const gateway: Partial<JobMasterGateway> = {
      requestJobResult: () => result,
      requestJobStatus: async () => (this.succeeded ? 'FINISHED' : 'RUNNING'),
      cancel: async () => void (this.cancelled = true),
      triggerSavepoint: () => this.savepoint,
      requestCheckpointStatistics: async () => ({ counts: { completed: 0, failed: 0, inProgress: 0 } }),
      requestJobMetrics: async () => ({ jobId: this.ctx.submission.jobId, jobName: 'x', status: 'RUNNING', restarts: 0, checkpoints: { completed: 0, failed: 0, inProgress: 0 } }) as never,
    };
    this.ctx.rpc.register(this.served, gateway);
  }
  async close(): Promise<void> {
    this.closed = true;
    this.ctx.rpc.unregister(this.served);
    this.end({ type: 'closed' });
  }
  die(reason: string): void {
    this.ctx.rpc.unregister(this.served);
    this.end({ type: 'died', reason });
  }
  succeeded = false;
  succeed(): void {
    this.succeeded = true;
    const s = this.ctx.submission;
    this.finish({ jobId: s.jobId, jobName: s.jobName, status: 'FINISHED', durationMs: 1, collected: {}, operators: [] });
  }
}

class MemoryJobStore implements DispatcherJobStore {
  readonly events: string[] = [];
  latest: { id: number; location: string } | undefined;
  /** Holds jobEnded (a slow store) until it resolves. */
  endGate: Promise<void> = Promise.resolve();
  async jobSubmitted(s: JobSubmission): Promise<void> {
    this.events.push(`submitted ${s.jobId}`);
  }
  async jobMasterStarted(jobId: string, attempt: number): Promise<void> {
    this.events.push(`jobmaster ${jobId} ${attempt}`);
  }
  async latestCheckpoint(): Promise<{ id: number; location: string } | undefined> {
    return this.latest;
  }
  async jobEnded(jobId: string, status: string): Promise<void> {
    await this.endGate;
    this.events.push(`ended ${jobId} ${status}`);
  }
}

let dispatcher: Dispatcher | undefined;
afterEach(async () => {
  await dispatcher?.close();
  dispatcher = undefined;
});

async function start(store?: DispatcherJobStore, maxJobMasterRestarts?: number) {
  const runners: FakeRunner[] = [];
  const rpc = new LocalRpcService();
  let nextGate: Promise<void> | undefined;
  dispatcher = new Dispatcher({
    rpc,
    address: 'dispatcher',
    resourceManagerAddress: 'rm',
    jobMasterRunnerFactory: (ctx) => {
      const r = new FakeRunner(ctx);
      if (nextGate !== undefined) r.gate = nextGate;
      runners.push(r);
      return r;
    },
    ...(store === undefined ? {} : { jobStore: store }),
    ...(maxJobMasterRestarts === undefined ? {} : { maxJobMasterRestarts }),
    shutdownTimeoutMs: 10,
    logger: silentLogger,
  });
  await dispatcher.start();
  const started = async (n: number): Promise<FakeRunner> => {
    const serving = (r: FakeRunner | undefined): Promise<boolean> => (r === undefined ? Promise.resolve(false) : rpc.connect(r.served).then(() => true, () => false));
    while (!(await serving(runners[n - 1]))) await new Promise((r) => setTimeout(r, 1));
    return runners[n - 1]!;
  };
  return { d: dispatcher, runners, started, holdNextStart: (g: Promise<void>) => void (nextGate = g) };
}

describe('Dispatcher: a JobMaster that dies', () => {
  it('without a job store: the job fails with JOB_MASTER_LOST naming the cause', async () => {
    const { d, started } = await start();
    await d.submitJob(submission('j1'));
    (await started(1)).die('JobMaster process was killed by SIGKILL');
    const r = await d.requestJobResult('j1');
    expect(r.status).toBe('FAILED');
    expect(r.error).toMatchObject({ code: 'JOB_MASTER_LOST', message: expect.stringContaining('was killed by SIGKILL') });
  });

  it('with a job store: a new JobMaster (next attempt) resumes from the latest recorded checkpoint', async () => {
    const store = new MemoryJobStore();
    const { d, runners, started } = await start(store);
    await d.submitJob(submission('j2'));
    store.latest = { id: 7, location: '/ck/j2/chk-7' };
    (await started(1)).die('JobMaster process exited with code 1');
    const second = await started(2);
    expect(second.ctx.attempt).toBe(1);
    expect(second.ctx.submission.restoreFrom).toEqual({ path: '/ck/j2/chk-7' });
    expect(runners[0]!.ctx.submission.restoreFrom).toBeUndefined();
    second.succeed();
    expect((await d.requestJobResult('j2')).status).toBe('FINISHED');
    await new Promise((r) => setTimeout(r, 5));
    expect(store.events).toEqual(['submitted j2', 'jobmaster j2 0', 'jobmaster j2 1', 'ended j2 FINISHED']);
  });

  it('does not replace the JobMaster of a job being cancelled, nor more often than allowed', async () => {
    const store = new MemoryJobStore();
    const { d, started } = await start(store, 1);
    await d.submitJob(submission('j3'));
    await d.cancelJob('j3');
    (await started(1)).die('gone');
    expect((await d.requestJobResult('j3')).error?.code).toBe('JOB_MASTER_LOST');

    await d.submitJob(submission('j4'));
    (await started(2)).die('first death');
    (await started(3)).die('second death');
    const r = await d.requestJobResult('j4');
    expect(r.error).toMatchObject({ code: 'JOB_MASTER_LOST', message: expect.stringContaining('second death') });
  });

  it('answers for a job whose JobMaster is still starting: CREATED, no checkpoints, no vertices; a cancel reaches it once it serves', async () => {
    const { d, runners, holdNextStart } = await start();
    let open!: () => void;
    holdNextStart(new Promise((r) => (open = r)));
    await d.submitJob(submission('j5'));
    await new Promise((r) => setTimeout(r, 5));
    expect(await d.requestJobStatus('j5')).toBe('CREATED');
    expect(await d.requestCheckpointStatistics('j5')).toEqual({ counts: { completed: 0, failed: 0, inProgress: 0 } });
    expect(await d.requestJobDetails('j5')).toEqual({ vertices: [], exceptions: [], exceptionsDropped: 0 });
    await expect(d.triggerSavepoint('j5', '/sp')).rejects.toMatchObject({ code: 'JOB_MASTER_STARTING', retriable: true });
    await d.cancelJob('j5');
    expect(runners[0]!.cancelled).toBe(false);
    open();
    while (!runners[0]!.cancelled) await new Promise((r) => setTimeout(r, 1));
    expect(runners[0]!.cancelled).toBe(true);
  });
});

describe('Dispatcher: leadership changes', () => {
  it('reports a job ended only once its end is in the job store (a new leader must not run it again)', async () => {
    const store = new MemoryJobStore();
    let open!: () => void;
    store.endGate = new Promise((r) => (open = r));
    const { d, started } = await start(store);
    await d.submitJob(submission('e1'));
    const jm = await started(1);
    jm.succeed();
    // The JobMaster says FINISHED, but the store has not recorded it: the status waits.
    const status = d.requestJobStatus('e1');
    let answered: string | undefined;
    void status.then((s) => (answered = s));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBeUndefined();
    expect(store.events).toEqual(['submitted e1', 'jobmaster e1 0']);
    open();
    expect(await status).toBe('FINISHED');
    expect(store.events).toEqual(['submitted e1', 'jobmaster e1 0', 'ended e1 FINISHED']);
  });

  it('a new leader recovers a job: next attempt, from its latest checkpoint, without recording it as submitted again', async () => {
    const store = new MemoryJobStore();
    const { d, started } = await start(store);
    await d.recoverJob({ submission: submission('r1'), jobMasterAttempts: 2, latestCheckpoint: { id: 4, location: '/ck/r1/chk-4' } });
    const jm = await started(1);
    expect(jm.ctx.attempt).toBe(2);
    expect(jm.ctx.submission.restoreFrom).toEqual({ path: '/ck/r1/chk-4' });
    expect(await d.requestJobStatus('r1')).toBe('RUNNING');
    await expect(d.recoverJob({ submission: submission('r1'), jobMasterAttempts: 2 })).rejects.toMatchObject({ code: 'JOB_ALREADY_EXISTS' });
    jm.succeed();
    expect((await d.requestJobResult('r1')).status).toBe('FINISHED');
    await new Promise((r) => setTimeout(r, 5));
    expect(store.events).toEqual(['jobmaster r1 2', 'ended r1 FINISHED']);
  });

  it('a recovered job still gets its JobMaster replacements (they count per leader, not per attempt)', async () => {
    const store = new MemoryJobStore();
    const { d, started } = await start(store, 1);
    await d.recoverJob({ submission: submission('r2'), jobMasterAttempts: 5 });
    (await started(1)).die('killed');
    const second = await started(2);
    expect(second.ctx.attempt).toBe(6);
    second.succeed();
    expect((await d.requestJobResult('r2')).status).toBe('FINISHED');
  });

  it('suspending (leadership lost) stops the JobMasters without ending their jobs in the store', async () => {
    const store = new MemoryJobStore();
    const { d, started } = await start(store);
    await d.submitJob(submission('s1'));
    const jm = await started(1);
    const waiting = expect(d.requestJobResult('s1')).rejects.toMatchObject({ code: 'DISPATCHER_SUSPENDED', retriable: true });
    await d.suspend('the ZooKeeper session expired');
    await waiting;
    expect(await jm.termination).toEqual({ type: 'closed' });
    expect(jm.cancelled).toBe(false);
    await new Promise((r) => setTimeout(r, 5));
    expect(store.events).toEqual(['submitted s1', 'jobmaster s1 0']);
    await expect(d.submitJob(submission('s2'))).rejects.toMatchObject({ code: 'DISPATCHER_NOT_RUNNING' });
  });

  it('lists a job whose stored records are damaged as FAILED with the reason, and runs nothing for it', async () => {
    const { d, runners } = await start(new MemoryJobStore());
    const { SluiceError } = await import('@sluice/common');
    await d.addUnrecoverableJob('bad', 'job bad', new SluiceError('HA_STORE_CORRUPT', 'the latest-checkpoint pointer of job bad at /sluice/default/checkpoints/bad/latest is damaged'));
    expect(await d.requestJobStatus('bad')).toBe('FAILED');
    expect((await d.requestJobResult('bad')).error).toMatchObject({ code: 'HA_STORE_CORRUPT', message: expect.stringContaining('/checkpoints/bad/latest') });
    // What GET /jobs/:id asks for besides: the job's details and checkpoint statistics.
    expect(await d.requestCheckpointStatistics('bad')).toEqual({ counts: { completed: 0, failed: 0, inProgress: 0 } });
    expect((await d.requestJobDetails('bad')).exceptions).toEqual([expect.objectContaining({ code: 'HA_STORE_CORRUPT' })]);
    expect(runners).toHaveLength(0);
  });
});

describe("Dispatcher: a stop's savepoint", () => {
  it("keeps an ended job's JobMaster until the savepoint call is answered (its copy comes after the job ends)", async () => {
    const { d, started } = await start();
    await d.submitJob(submission('sp'));
    const jm = await started(1);
    let copied!: (v: { path: string }) => void;
    jm.savepoint = new Promise((resolve) => (copied = resolve));
    const stop = d.triggerSavepoint('sp', '/sp', 'terminate');
    await new Promise((r) => setTimeout(r, 5));
    // The stop's checkpoint ends the job; the savepoint is still being copied.
    jm.succeed();
    expect((await d.requestJobResult('sp')).status).toBe('FINISHED');
    await new Promise((r) => setTimeout(r, 20));
    expect(jm.closed).toBe(false);
    copied({ path: '/sp/savepoint-7' });
    await expect(stop).resolves.toEqual({ path: '/sp/savepoint-7' });
    while (!jm.closed) await new Promise((r) => setTimeout(r, 1));
    expect(await jm.termination).toEqual({ type: 'closed' });
  });
});
