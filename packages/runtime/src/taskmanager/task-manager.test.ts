import { SluiceError, silentLogger } from '@sluice/common';
import {
  DEFAULT_JOB_CONFIG,
  LocalRpcService,
  type CheckpointStatistics,
  type CollectedRecords,
  type JobDetails,
  type JobMasterGateway,
  type JobMasterRegistrationSuccess,
  type JobMasterToken,
  type JobMetrics,
  type JobResult,
  type JobStatus,
  type RegistrationResponse,
  type ResourceManagerGateway,
  type SlotOffer,
  type SlotReport,
  type TaskDeploymentDescriptor,
  type TaskExecutionState,
  type TaskExecutorGateway,
  type TaskManagerInfo,
  type TaskManagerLocation,
  type TaskManagerRegistration,
} from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskManager, type TaskManagerOptions } from './task-manager.js';
import { TestingTaskRunner } from './testing-task-runner.js';

const RM = 'rm-1';
const JM1: JobMasterToken = { jobId: 'job-1', jobMasterId: 'jm-1', attempt: 0 };

class TestingResourceManagerGateway implements ResourceManagerGateway {
  registrations: TaskManagerRegistration[] = [];
  reports: SlotReport[] = [];
  heartbeats: SlotReport[] = [];
  disconnects: string[] = [];
  /** Refuses the next heartbeat as a ResourceManager that dropped the TaskManager would. */
  dropNextHeartbeat = false;
  /** The heartbeat timing this ResourceManager names to TaskManagers. */
  timing = { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 };
  async registerTaskExecutor(r: TaskManagerRegistration): Promise<RegistrationResponse> {
    this.registrations.push(r);
    return { type: 'RegistrationSuccess', registrationId: 'reg-1', resourceManagerId: RM, ...this.timing };
  }
  async sendSlotReport(_id: string, r: SlotReport): Promise<void> {
    this.reports.push(r);
  }
  async heartbeatFromTaskExecutor(_id: string, r: SlotReport): Promise<void> {
    if (this.dropNextHeartbeat) {
      this.dropNextHeartbeat = false;
      throw new SluiceError('TASK_MANAGER_NOT_REGISTERED', `TaskManager '${r.resourceId}' is not registered`);
    }
    this.heartbeats.push(r);
  }
  async disconnectTaskExecutor(_id: string, resourceId: string): Promise<void> {
    this.disconnects.push(resourceId);
  }
  async registerJobMaster(): Promise<JobMasterRegistrationSuccess> {
    throw new Error('not used');
  }
  async declareResourceRequirements(): Promise<void> {}
  async heartbeatFromJobMaster(): Promise<void> {}
  async disconnectJobMaster(): Promise<void> {}
  async requestTaskManagerInfo(): Promise<TaskManagerInfo[]> {
    return [];
  }
}

class TestingJobMasterGateway implements JobMasterGateway {
  states: TaskExecutionState[] = [];
  collected: CollectedRecords[] = [];
  disconnects: string[] = [];
  heartbeats = 0;
  /** Where the offering TaskManagers said their data exchange is. */
  locations: (TaskManagerLocation | undefined)[] = [];
  /** Answers heartbeats as a JobMaster that no longer counts this TaskManager. */
  dropped = false;
  constructor(private readonly accept: boolean) {}
  async offerSlots(_t: JobMasterToken, _r: string, _a: string, offers: SlotOffer[], location?: TaskManagerLocation): Promise<SlotOffer[]> {
    this.locations.push(location);
    return this.accept ? offers : [];
  }
  async updateTaskExecutionState(_t: JobMasterToken, s: TaskExecutionState): Promise<void> {
    this.states.push(s);
  }
  async reportCollectedRecords(_t: JobMasterToken, b: CollectedRecords): Promise<void> {
    this.collected.push(b);
  }
  async disconnectTaskManager(resourceId: string, reason: string): Promise<void> {
    this.disconnects.push(`${resourceId}: ${reason}`);
  }
  async heartbeatFromTaskManager(_t: JobMasterToken, resourceId: string): Promise<void> {
    if (this.dropped) throw new SluiceError('TASK_MANAGER_NOT_CONNECTED', `no slot of '${resourceId}' held`);
    this.heartbeats++;
  }
  async heartbeatFromResourceManager(): Promise<void> {}
  async requestJobStatus(): Promise<JobStatus> {
    return 'RUNNING';
  }
  async requestJobResult(): Promise<JobResult> {
    throw new Error('not used');
  }
  async requestCheckpointStatistics(): Promise<CheckpointStatistics> {
    throw new Error('not used');
  }
  async requestJobDetails(): Promise<JobDetails> {
    throw new Error('not used');
  }
  async requestJobMetrics(): Promise<JobMetrics> {
    throw new Error('not used');
  }
  async cancel(): Promise<void> {}
  async acknowledgeCheckpoint(): Promise<void> {}
  async declineCheckpoint(): Promise<void> {}
  async triggerSavepoint(): Promise<{ path: string }> {
    throw new Error('not used');
  }
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tdd(executionId: string, allocationId: string, jobId = 'job-1'): TaskDeploymentDescriptor {
  return {
    jobId,
    jobName: 'test job',
    executionId,
    attempt: 0,
    vertexId: 'v1',
    vertexName: 'Map',
    subtaskIndex: 0,
    parallelism: 1,
    maxParallelism: 128,
    allocationId,
    artifact: { entry: '/dev/null', params: {} },
    config: { ...DEFAULT_JOB_CONFIG },
    inputs: [],
    outputs: [],
    splits: [],
  };
}

describe('TaskManager', () => {
  const started: TaskManager[] = [];
  afterEach(async () => {
    for (const tm of started.splice(0)) await tm.stop();
  });

  async function setup(accept = true, extra: Partial<Pick<TaskManagerOptions, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'dataLocation' | 'resolveArtifact' | 'onJobReleased'>> = {}, rmTiming?: { heartbeatIntervalMs: number; heartbeatTimeoutMs: number }) {
    const rpc = new LocalRpcService();
    const rm = new TestingResourceManagerGateway();
    if (rmTiming !== undefined) rm.timing = rmTiming;
    const jm = new TestingJobMasterGateway(accept);
    rpc.register('rm', rm);
    rpc.register('jm', jm);
    const runner = new TestingTaskRunner();
    const tm = new TaskManager({ resourceId: 'tm-1', numberOfSlots: 2, rpc, address: 'tm-1', resourceManagerAddress: 'rm', taskRunner: runner, logger: silentLogger, ...extra });
    started.push(tm);
    await tm.start();
    const gw = await rpc.connect<TaskExecutorGateway>('tm-1');
    return { rpc, rm, jm, runner, tm, gw };
  }

  it('registers, reports slots with increasing seq, and offers allocated slots to the JobMaster', async () => {
    const { rm, gw, tm } = await setup();
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a1', 'jm');
    await tick();
    expect(rm.registrations).toEqual([{ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 }]);
    const seqs = rm.reports.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(rm.reports.at(-1)?.slots[1]).toEqual({ slotId: { resourceId: 'tm-1', slotIndex: 1 }, allocationId: 'a1', jobId: 'job-1' });
    expect(tm.metricsSnapshot()).toMatchObject({ resourceId: 'tm-1', slotsTotal: 2, slotsFree: 1 });
  });

  it('acknowledges a slot request with the seq of the first report that shows it, also when repeated', async () => {
    const { rm, gw } = await setup();
    const first = await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    const second = await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a2', 'jm');
    const again = await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await tick();
    const held = (seq: number): (string | undefined)[] | undefined => rm.reports.find((r) => r.seq === seq)?.slots.map((s) => s.allocationId);
    expect(held(first.reportSeq - 1)).toEqual([undefined, undefined]);
    expect(held(first.reportSeq)).toEqual(['a1', undefined]);
    expect(held(second.reportSeq)).toEqual(['a1', 'a2']);
    expect(again.reportSeq).toBeGreaterThanOrEqual(second.reportSeq);
  });

  it('frees a slot the JobMaster declines', async () => {
    const { rm, gw } = await setup(false);
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await tick();
    expect(rm.reports.at(-1)?.slots.every((s) => s.allocationId === undefined)).toBe(true);
  });

  it('retries registration while the ResourceManager is unreachable', async () => {
    const rpc = new LocalRpcService();
    const rm = new TestingResourceManagerGateway();
    const tm = new TaskManager({ resourceId: 'tm-2', numberOfSlots: 1, rpc, address: 'tm-2', resourceManagerAddress: 'rm', taskRunner: new TestingTaskRunner(), logger: silentLogger, registrationInitialDelayMs: 5 });
    started.push(tm);
    const starting = tm.start();
    await tick(20);
    rpc.register('rm', rm);
    await starting;
    expect(rm.registrations).toHaveLength(1);
  });

  it("registers at the new leader's ResourceManager when the leader moves, and then refuses the old one's calls", async () => {
    const { rpc, rm, tm, gw } = await setup();
    const next = new TestingResourceManagerGateway();
    next.registerTaskExecutor = async (r) => {
      next.registrations.push(r);
      return { type: 'RegistrationSuccess', registrationId: 'reg-2', resourceManagerId: 'rm-2', ...next.timing };
    };
    rpc.register('rm-next', next);
    await tm.resourceManagerMoved('rm-next');
    while (next.registrations.length === 0) await tick(1);
    expect(rm.registrations).toHaveLength(1);
    expect(next.registrations).toEqual([{ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 }]);
    await tick();
    // The deposed leader's ResourceManager (its token rm-1) can no longer allocate anything here.
    await expect(gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm')).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await gw.requestSlot('rm-2', { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    // Telling it the same address again changes nothing.
    await tm.resourceManagerMoved('rm-next');
    await tick();
    expect(next.registrations).toHaveLength(1);
  });

  it('rejects a task whose allocation is not held here, with a clear error', async () => {
    const { gw } = await setup();
    await expect(gw.submitTask(JM1, tdd('e1', 'nope'))).rejects.toThrow(/holds no slot with allocation nope/);
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await expect(gw.submitTask(JM1, tdd('e1', 'a1', 'job-2'))).rejects.toThrow(/belongs to job job-1/);
  });

  it('forwards running, collected records and the terminal state in order', async () => {
    const { gw, jm, runner } = await setup();
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.submitTask(JM1, tdd('e1', 'a1'));
    const [task] = await runner.waitForTasks(1);
    task!.emit('out', [1, 2]);
    task!.finish();
    await tick();
    expect(jm.states.map((s) => s.state)).toEqual(['RUNNING', 'FINISHED']);
    expect(jm.states[1]?.operators).toHaveLength(1);
    expect(jm.collected).toEqual([{ jobId: 'job-1', executionId: 'e1', sinkName: 'out', subtaskIndex: 0, records: [1, 2] }]);
  });

  it('cancels tasks of a freed slot, and tells JobMasters and the RM when it stops', async () => {
    const { gw, jm, rm, runner, tm, rpc } = await setup();
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a2', 'jm');
    await gw.submitTask(JM1, tdd('e1', 'a1'));
    await gw.submitTask(JM1, tdd('e2', 'a2'));
    await runner.waitForTasks(2);
    await gw.freeSlot(RM, 'a1', 'test');
    await tick();
    expect(runner.task('e1').status).toBe('canceled');
    expect(jm.states.find((s) => s.executionId === 'e1' && s.state === 'CANCELED')).toBeDefined();
    await tm.stop();
    expect(jm.disconnects).toEqual(['tm-1: TaskManager stopped']);
    expect(rm.disconnects).toEqual(['tm-1']);
    expect(runner.closed).toBe(true);
    await expect(rpc.connect('tm-1')).rejects.toThrow(/no component is registered/);
  });

  it('refuses calls with a stale ResourceManager id or JobMaster token, and they change nothing', async () => {
    const { rm, gw, runner } = await setup();
    await expect(gw.requestSlot('old-rm', { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a0', 'jm')).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH', retriable: false });
    expect((await gw.requestSlotReport()).slots.every((s) => s.allocationId === undefined)).toBe(true);
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await expect(gw.freeSlot('old-rm', 'a1', 'stale')).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    // An earlier JobMaster of the job, and one of an earlier attempt.
    const other = { ...JM1, jobMasterId: 'jm-0' };
    const older = { ...JM1, attempt: 1 };
    await expect(gw.submitTask(other, tdd('e0', 'a1'))).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await expect(gw.submitTask(older, tdd('e0', 'a1'))).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await gw.submitTask(JM1, tdd('e1', 'a1'));
    await runner.waitForTasks(1);
    await expect(gw.cancelTask(other, 'e1')).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await expect(gw.triggerCheckpoint(other, 'e1', 1, 0)).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await expect(gw.heartbeatFromJobMaster(other)).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    expect((await runner.waitForTasks(1)).map((t) => t.executionId)).toEqual(['e1']);
    expect(runner.task('e1').terminal).toBe(false);
    expect(rm.reports.at(-1)?.slots[0]?.allocationId).toBe('a1');
  });

  it('frees the slots of a job whose JobMaster stops answering heartbeats, and cancels its tasks', async () => {
    const { rm, gw, runner } = await setup(true, { heartbeatIntervalMs: 10, heartbeatTimeoutMs: 50 });
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.submitTask(JM1, tdd('e1', 'a1'));
    await runner.waitForTasks(1);
    // The JobMaster never beats back: after the timeout its slot is freed and its task cancelled.
    const deadline = Date.now() + 30_000;
    while (runner.task('e1').status !== 'canceled' && Date.now() < deadline) await tick(10);
    expect(runner.task('e1').status).toBe('canceled');
    expect(rm.reports.at(-1)?.slots.every((s) => s.allocationId === undefined)).toBe(true);
    await expect(gw.heartbeatFromJobMaster(JM1)).rejects.toMatchObject({ code: 'JOB_MASTER_NOT_CONNECTED' });
  });

  it('frees the slots of a job at once when its JobMaster says it dropped this TaskManager, or its connection closes', async () => {
    const { rm, gw, jm, runner, tm } = await setup();
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.submitTask(JM1, tdd('e1', 'a1'));
    await runner.waitForTasks(1);
    await tick();
    expect(jm.heartbeats).toBeGreaterThan(0);
    // A heartbeat is sent as soon as a JobMaster is monitored: allocating the next slot starts one.
    jm.dropped = true;
    await gw.freeSlot(RM, 'a1', 'test');
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a2', 'jm');
    const held = async (): Promise<(string | undefined)[]> => (await gw.requestSlotReport()).slots.map((s) => s.allocationId);
    const deadline = Date.now() + 30_000;
    while ((await held())[1] !== undefined && Date.now() < deadline) await tick();
    expect(await held()).toEqual([undefined, undefined]);
    expect(rm.reports.some((r) => r.slots[1]?.allocationId === 'a2')).toBe(true);
    jm.dropped = false;
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a3', 'jm');
    expect(await held()).toEqual(['a3', undefined]);
    // The loss is posted to the mailbox, so the next call sees the slot freed.
    tm.peerConnectionClosed('jm');
    expect(await held()).toEqual([undefined, undefined]);
  });

  it('registers again, with a full slot report, when the ResourceManager says it dropped this TaskManager', async () => {
    const { rm, gw } = await setup(true, { heartbeatIntervalMs: 10, heartbeatTimeoutMs: 50 });
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a1', 'jm');
    rm.dropNextHeartbeat = true;
    const deadline = Date.now() + 30_000;
    while (rm.registrations.length < 2 && Date.now() < deadline) await tick();
    expect(rm.registrations).toHaveLength(2);
    while (rm.reports.length === 0 && Date.now() < deadline) await tick();
    await tick(20);
    const last = rm.reports.at(-1)!;
    expect(last.slots[1]).toEqual({ slotId: { resourceId: 'tm-1', slotIndex: 1 }, allocationId: 'a1', jobId: 'job-1' });
    expect(rm.heartbeats.length).toBeGreaterThan(0);
  });

  it("answers a JobMaster's request for live counts with its running tasks only, and a stale JobMaster with none", async () => {
    const { gw, runner } = await setup();
    expect(await gw.requestExecutionCounts(JM1)).toEqual([]);
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a2', 'jm');
    await gw.submitTask(JM1, tdd('e1', 'a1'));
    await gw.submitTask(JM1, tdd('e2', 'a2'));
    const [t1, t2] = await runner.waitForTasks(2);
    t1!.count([{ nodeId: 3, recordsIn: 40, recordsOut: 39 }], { busyMs: 10, backpressuredMs: 5, idleMs: 1 });
    t2!.finish();
    await tick();
    expect(await gw.requestExecutionCounts(JM1)).toEqual([{ executionId: 'e1', operators: [{ nodeId: 3, recordsIn: 40, recordsOut: 39 }], time: { busyMs: 10, backpressuredMs: 5, idleMs: 1 } }]);
    expect(await gw.requestExecutionCounts({ ...JM1, jobMasterId: 'jm-old' })).toEqual([]);
  });

  it('registers and offers slots with its data location, and says when the last slot of a job is freed', async () => {
    const location = { resourceId: 'tm-1', dataAddress: { host: '127.0.0.2', port: 7001 } };
    const released: string[] = [];
    const { rm, jm, gw } = await setup(true, { dataLocation: location, onJobReleased: (jobId) => released.push(jobId) });
    expect(rm.registrations).toEqual([{ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2, dataAddress: { host: '127.0.0.2', port: 7001 } }]);
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a2', 'jm');
    await tick();
    expect(jm.locations).toEqual([location, location]);
    await gw.freeSlot(RM, 'a1', 'done');
    expect(released).toEqual([]);
    await gw.freeSlot(RM, 'a2', 'done');
    expect(released).toEqual(['job-1']);
  });

  it('starts a subtask with the artifact resolveArtifact returns; a cancel while it resolves ends the subtask CANCELED without starting it', async () => {
    const pending: ((entry: string) => void)[] = [];
    const resolveArtifact = (a: TaskDeploymentDescriptor['artifact']): Promise<TaskDeploymentDescriptor['artifact']> =>
      new Promise((resolve) => pending.push((entry) => resolve({ ...a, entry })));
    const { gw, jm, runner } = await setup(true, { resolveArtifact });
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 1 }, JM1, 'a2', 'jm');
    await gw.submitTask(JM1, { ...tdd('e1', 'a1'), artifact: { entry: '/on/the/entrypoint.mjs', bundle: 'ab'.repeat(32), params: {} } });
    await gw.submitTask(JM1, tdd('e2', 'a2'));
    expect(pending).toHaveLength(2);
    expect(runner.tasks).toHaveLength(0);
    pending[0]!('/cache/abab.mjs');
    const [task] = await runner.waitForTasks(1);
    expect(task!.tdd.artifact).toEqual({ entry: '/cache/abab.mjs', bundle: 'ab'.repeat(32), params: {} });
    await gw.cancelTask(JM1, 'e2');
    pending[1]!('/cache/late.mjs');
    await tick();
    expect(runner.tasks.map((t) => t.executionId)).toEqual(['e1']);
    expect(jm.states.filter((s) => s.executionId === 'e2').map((s) => s.state)).toEqual(['CANCELED']);
  });

  it('fails a subtask whose code cannot be fetched, saying so', async () => {
    const { gw, jm, runner } = await setup(true, { resolveArtifact: () => Promise.reject(new Error('no bundle with id abab was uploaded')) });
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    await gw.submitTask(JM1, tdd('e1', 'a1'));
    const deadline = Date.now() + 30_000;
    while (jm.states.length === 0 && Date.now() < deadline) await tick();
    expect(runner.tasks).toHaveLength(0);
    expect(jm.states[0]).toMatchObject({ executionId: 'e1', state: 'FAILED', error: { code: 'ARTIFACT_UNAVAILABLE', retriable: true } });
    expect(jm.states[0]?.error?.message).toMatch(/its job code could not be fetched: no bundle with id abab/);
  });

  it('beats to JobMasters at the pace the ResourceManager names, not the default', async () => {
    const { gw, jm } = await setup(true, {}, { heartbeatIntervalMs: 10, heartbeatTimeoutMs: 30_000 });
    await gw.requestSlot(RM, { resourceId: 'tm-1', slotIndex: 0 }, JM1, 'a1', 'jm');
    // At the 10 s default, ten heartbeats would take 90 s; at the named 10 ms, a tenth of a second.
    const deadline = Date.now() + 30_000;
    while (jm.heartbeats < 10 && Date.now() < deadline) await tick(10);
    expect(jm.heartbeats).toBeGreaterThanOrEqual(10);
  });
});
