import { ManualClock, silentLogger } from '@sluice/common';
import {
  LocalRpcService,
  type CheckpointStatistics,
  type CollectedRecords,
  type ExecutionCounts,
  type JobDetails,
  type JobMasterToken,
  type JobMetrics,
  type JobResult,
  type JobMasterGateway,
  type JobStatus,
  type ResourceManagerGateway,
  type SlotAllocationAck,
  type SlotId,
  type SlotOffer,
  type SlotReport,
  type TaskDeploymentDescriptor,
  type TaskExecutionState,
  type TaskExecutorGateway,
} from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterDriver, ClusterDriverEvents, WorkerSpec } from './cluster-driver.js';
import { ResourceManager, type ResourceManagerOptions } from './resource-manager.js';

/** Records worker requests; starts nothing unless told to. */
class TestingClusterDriver implements ClusterDriver {
  requested: WorkerSpec[] = [];
  released: string[] = [];
  events: ClusterDriverEvents | undefined;
  /** Workers "an earlier run" left, reported from initialize. */
  recovered: WorkerSpec[] = [];
  async initialize(events: ClusterDriverEvents): Promise<void> {
    this.events = events;
    if (this.recovered.length > 0) events.onWorkersRecovered?.(this.recovered);
  }
  async requestWorker(spec: WorkerSpec): Promise<void> {
    this.requested.push(spec);
  }
  async releaseWorker(resourceId: string): Promise<void> {
    this.released.push(resourceId);
  }
  async terminate(): Promise<void> {}
  /** Workers whose executor (a channel besides RPC) says they run. */
  vouched = new Set<string>();
  isWorkerReportedAlive(resourceId: string): boolean {
    return this.vouched.has(resourceId);
  }
}

/** Accepts every slot request as a TaskManager whose report seq counts up from 1 would. */
class TestingTaskExecutorGateway implements TaskExecutorGateway {
  requests: { slotId: SlotId; jobId: string; allocationId: string; resourceManagerId: string; jobMaster: JobMasterToken }[] = [];
  frees: string[] = [];
  heartbeats: string[] = [];
  private seq = 1;
  async requestSlot(resourceManagerId: string, slotId: SlotId, jobMaster: JobMasterToken, allocationId: string): Promise<SlotAllocationAck> {
    this.requests.push({ slotId, jobId: jobMaster.jobId, allocationId, resourceManagerId, jobMaster });
    return { reportSeq: ++this.seq };
  }
  async submitTask(_jm: JobMasterToken, _tdd: TaskDeploymentDescriptor): Promise<void> {}
  async cancelTask(): Promise<void> {}
  async freeSlot(_rm: string, allocationId: string): Promise<void> {
    this.frees.push(allocationId);
  }
  async heartbeatFromResourceManager(resourceManagerId: string): Promise<void> {
    this.heartbeats.push(resourceManagerId);
  }
  async heartbeatFromJobMaster(): Promise<void> {}
  async requestSlotReport(): Promise<SlotReport> {
    throw new Error('not used');
  }
  async requestExecutionCounts(): Promise<ExecutionCounts[]> {
    return [];
  }
  async triggerCheckpoint(): Promise<void> {}
  async notifyCheckpointComplete(): Promise<void> {}
  async notifyCheckpointAborted(): Promise<void> {}
}

class TestingJobMasterGateway implements JobMasterGateway {
  disconnects: string[] = [];
  heartbeats: string[] = [];
  async offerSlots(_t: JobMasterToken, _r: string, _a: string, offers: SlotOffer[]): Promise<SlotOffer[]> {
    return offers;
  }
  async updateTaskExecutionState(_t: JobMasterToken, _s: TaskExecutionState): Promise<void> {}
  async reportCollectedRecords(_t: JobMasterToken, _b: CollectedRecords): Promise<void> {}
  async heartbeatFromTaskManager(): Promise<void> {}
  async heartbeatFromResourceManager(resourceManagerId: string): Promise<void> {
    this.heartbeats.push(resourceManagerId);
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
  async disconnectTaskManager(resourceId: string, reason: string): Promise<void> {
    this.disconnects.push(`${resourceId}: ${reason}`);
  }
  async requestJobStatus(): Promise<JobStatus> {
    return 'RUNNING';
  }
  async cancel(): Promise<void> {}
  async acknowledgeCheckpoint(): Promise<void> {}
  async declineCheckpoint(): Promise<void> {}
  async triggerSavepoint(): Promise<{ path: string }> {
    throw new Error('not used');
  }
}

/**
 * Polls until `cond` holds: the RM answers a gateway call before it has carried out what the call
 * set off (slot requests, frees), and its timer fires on its own schedule, later on a busy machine.
 */
async function eventually(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Moves a manual clock forward 10 ms at a time, letting the RM's 10 ms liveness check run in between. */
async function advanceInSteps(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/**
 * Steps a manual clock as `advanceInSteps` does until `cond` holds. On a busy machine a check can
 * miss steps and then count as late (its delay is forgiven), so no fixed number of steps is enough.
 */
async function advanceUntil(clock: ManualClock, what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await advanceInSteps(clock, 10);
  }
}

const JM: JobMasterToken = { jobId: 'job', jobMasterId: 'jm-1', attempt: 0 };

function freeReport(resourceId: string, seq: number, slots: number): SlotReport {
  return { resourceId, seq, slots: Array.from({ length: slots }, (_, i) => ({ slotId: { resourceId, slotIndex: i } })) };
}

describe('ResourceManager', () => {
  const rms: ResourceManager[] = [];
  const timers: NodeJS.Timeout[] = [];
  afterEach(async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    for (const rm of rms.splice(0)) await rm.stop();
  });

  async function setup(extra: Partial<ResourceManagerOptions> = {}, recovered: WorkerSpec[] = []) {
    const rpc = new LocalRpcService();
    const driver = new TestingClusterDriver();
    driver.recovered = recovered;
    const rm = new ResourceManager({ rpc, address: 'rm', driver, slotsPerWorker: 2, logger: silentLogger, ...extra });
    rms.push(rm);
    await rm.start();
    const gw = await rpc.connect<ResourceManagerGateway>('rm');
    const tm = new TestingTaskExecutorGateway();
    rpc.register('tm-1', tm);
    const jm = new TestingJobMasterGateway();
    rpc.register('jm', jm);
    await gw.registerJobMaster(JM, 'jm');
    // The JobMaster stays alive for the RM: it heartbeats, whatever the clock says.
    const beat = setInterval(() => void gw.heartbeatFromJobMaster(rm.resourceManagerId, JM).catch(() => undefined), 2);
    timers.push(beat);
    return { rpc, driver, rm, gw, tm, jm, rmId: rm.resourceManagerId };
  }

  it('keeps minWorkers workers without demand: starts them, replaces a failed one, never releases them as idle', async () => {
    const clock = new ManualClock(0);
    const { rmId, gw, driver } = await setup({ minWorkers: 2, idleWorkerTimeoutMs: 100, clock });
    await eventually('two workers requested', () => driver.requested.length === 2);
    const [a, b] = driver.requested.map((s) => s.resourceId);
    for (const id of [a!, b!]) {
      await gw.registerTaskExecutor({ resourceId: id, address: 'tm-1', numberOfSlots: 2 });
      await gw.sendSlotReport(rmId, freeReport(id, 1, 2));
    }
    await advanceInSteps(clock, 300);
    expect(driver.released).toEqual([]);
    driver.events!.onWorkerTerminated(a!, 'TaskManager process was killed by SIGKILL');
    await eventually('a replacement requested', () => driver.requested.length === 3);
    expect(driver.requested).toHaveLength(3);
  });

  it('waits before replacing workers once too many failed within the interval', async () => {
    const clock = new ManualClock(0);
    const { driver } = await setup({ minWorkers: 1, clock, workerFailureRate: { maxFailures: 2, intervalMs: 10_000, retryDelayMs: 50 } });
    for (let i = 1; i <= 2; i++) {
      await eventually(`worker ${i} requested`, () => driver.requested.length === i);
      driver.events!.onWorkerTerminated(driver.requested[i - 1]!.resourceId, 'exited with code 1');
    }
    // Two failures in the interval: the third start waits for the retry delay, then is refused
    // again until the clock has moved past the interval.
    await new Promise((r) => setTimeout(r, 200));
    expect(driver.requested).toHaveLength(2);
    clock.advance(10_000);
    await eventually('the third worker requested once the failures aged out', () => driver.requested.length === 3);
  });

  it('counts workers an earlier run of the driver recovered as coming, and releases one that does not register within the heartbeat timeout', async () => {
    const clock = new ManualClock(0);
    const recovered = [{ resourceId: 'old-1', numberOfSlots: 2 }, { resourceId: 'old-2', numberOfSlots: 2 }];
    const { rmId, gw, driver, tm } = await setup({ clock, heartbeatIntervalMs: 10, heartbeatTimeoutMs: 1_000 }, recovered);
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 4 });
    await gw.registerTaskExecutor({ resourceId: 'old-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.sendSlotReport(rmId, freeReport('old-1', 1, 2));
    await eventually('the slot requests to old-1', () => tm.requests.length >= 2);
    // The two missing slots are old-2's, which is still expected: nothing new is started.
    expect(driver.requested).toEqual([]);
    const beat = setInterval(() => void gw.heartbeatFromTaskExecutor(rmId, freeReport('old-1', 1, 2)).catch(() => undefined), 2);
    timers.push(beat);
    await advanceUntil(clock, 'old-2 released', () => driver.released.length > 0);
    expect(driver.released).toEqual(['old-2']);
    await eventually('a new worker in its place', () => driver.requested.length === 1);
    expect(driver.requested[0]!.numberOfSlots).toBe(2);
    // Released, it is refused if it turns up after all.
    expect(await gw.registerTaskExecutor({ resourceId: 'old-2', address: 'tm-1', numberOfSlots: 2 })).toMatchObject({ type: 'RegistrationRejection' });
  });

  it('asks the driver for exactly the missing workers, counting pending ones', async () => {
    const { rmId, gw, driver, tm } = await setup();
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.sendSlotReport(rmId, freeReport('tm-1', 1, 2));
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 5 });
    await eventually('the slot requests to tm-1', () => tm.requests.length >= 2);
    expect(tm.requests).toHaveLength(2);
    expect(driver.requested.map((s) => s.numberOfSlots)).toEqual([2, 2]);
    // Re-declaring, or a stale report, must not ask again while those workers are pending.
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 5 });
    await gw.heartbeatFromTaskExecutor(rmId, freeReport('tm-1', 1, 2));
    expect(driver.requested).toHaveLength(2);
    // One requested worker registers with 2 slots: one slot is still missing and one worker still pending.
    const first = driver.requested[0]!.resourceId;
    await gw.registerTaskExecutor({ resourceId: first, address: 'tm-1', numberOfSlots: 2 });
    await gw.sendSlotReport(rmId, freeReport(first, 1, 2));
    await eventually('the slot requests to the new worker', () => tm.requests.length >= 4);
    expect(driver.requested).toHaveLength(2);
    expect(tm.requests).toHaveLength(4);
  });

  it('does not request a slot again when the reports sent before its acknowledgement arrive after it', async () => {
    const { rmId, gw, tm } = await setup();
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 4 });
    await gw.sendSlotReport(rmId, freeReport('tm-1', 1, 4));
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 4 });
    await eventually('the four slot requests', () => tm.requests.length >= 4);
    // The TaskManager took all four requests (reports 2..5) before report 2 reached the RM.
    const ids = tm.requests.map((r) => r.allocationId);
    expect(tm.requests.map((r) => r.slotId.slotIndex)).toEqual([0, 1, 2, 3]);
    const upTo = (seq: number, held: number): SlotReport => ({
      resourceId: 'tm-1',
      seq,
      slots: Array.from({ length: 4 }, (_, i) => (i < held ? { slotId: { resourceId: 'tm-1', slotIndex: i }, allocationId: ids[i]!, jobId: 'job' } : { slotId: { resourceId: 'tm-1', slotIndex: i } })),
    });
    for (const seq of [2, 3, 4, 5]) await gw.sendSlotReport(rmId, upTo(seq, seq - 1));
    // A later report showing slot 3 free again (its JobMaster declined it) is the truth: ask again.
    // That request comes after any the earlier reports set off, so the list shows there were none.
    await gw.sendSlotReport(rmId, upTo(6, 3));
    await eventually('slot 3 requested again', () => tm.requests.length >= 5);
    expect(tm.requests.map((r) => r.slotId.slotIndex)).toEqual([0, 1, 2, 3, 3]);
  });

  it('ignores a stale slot report', async () => {
    const { rmId, gw } = await setup();
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.sendSlotReport(rmId, { resourceId: 'tm-1', seq: 7, slots: [{ slotId: { resourceId: 'tm-1', slotIndex: 0 }, allocationId: 'a', jobId: 'j' }, { slotId: { resourceId: 'tm-1', slotIndex: 1 } }] });
    await gw.heartbeatFromTaskExecutor(rmId, freeReport('tm-1', 6, 2));
    expect((await gw.requestTaskManagerInfo())[0]?.freeSlots).toBe(1);
  });

  it('releases a job\'s slots when it declares zero', async () => {
    const { rmId, gw, tm } = await setup();
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 1 });
    await gw.sendSlotReport(rmId, { resourceId: 'tm-1', seq: 1, slots: [{ slotId: { resourceId: 'tm-1', slotIndex: 0 }, allocationId: 'a', jobId: 'job' }, { slotId: { resourceId: 'tm-1', slotIndex: 1 } }] });
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 0 });
    await eventually('the slot to be freed', () => tm.frees.length > 0);
    expect(tm.frees).toEqual(['a']);
  });

  it('drops a silent TaskManager and tells the JobMasters using it', async () => {
    const clock = new ManualClock(0);
    const { rmId, gw, jm } = await setup({ clock, heartbeatIntervalMs: 10, heartbeatTimeoutMs: 50 });
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 1 });
    await gw.sendSlotReport(rmId, { resourceId: 'tm-1', seq: 1, slots: [{ slotId: { resourceId: 'tm-1', slotIndex: 0 }, allocationId: 'a', jobId: 'job' }, { slotId: { resourceId: 'tm-1', slotIndex: 1 } }] });
    // The RM keeps checking (every 10 ms) while the TaskManager stays silent.
    await advanceUntil(clock, 'the liveness check to drop tm-1', () => jm.disconnects.length > 0);
    expect(jm.disconnects).toHaveLength(1);
    expect(jm.disconnects[0]).toMatch(/^tm-1: no heartbeat for \d+ ms \(timeout 50 ms\)/);
    expect(await gw.requestTaskManagerInfo()).toEqual([]);
  });

  it('does not hold its own stall against a TaskManager, but still drops one that stays silent', async () => {
    const clock = new ManualClock(0);
    const { rmId, gw, jm } = await setup({ clock, heartbeatIntervalMs: 10, heartbeatTimeoutMs: 50 });
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 1 });
    const held = { resourceId: 'tm-1', slots: [{ slotId: { resourceId: 'tm-1', slotIndex: 0 }, allocationId: 'a', jobId: 'job' }, { slotId: { resourceId: 'tm-1', slotIndex: 1 } }] };
    await gw.sendSlotReport(rmId, { ...held, seq: 1 });
    await advanceInSteps(clock, 30);
    // The RM's thread is held up for 200 ms: its next check comes before the heartbeat queued meanwhile.
    clock.advance(200);
    await new Promise((r) => setTimeout(r, 30));
    await gw.heartbeatFromTaskExecutor(rmId, { ...held, seq: 2 });
    expect(jm.disconnects).toEqual([]);
    await advanceUntil(clock, 'the liveness check to drop the silent tm-1', () => jm.disconnects.length > 0);
    expect(jm.disconnects).toHaveLength(1);
  });

  it('releases workers idle past the timeout and rejects their re-registration', async () => {
    const clock = new ManualClock(0);
    const { rmId, gw, driver } = await setup({ clock, idleWorkerTimeoutMs: 20 });
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.sendSlotReport(rmId, freeReport('tm-1', 1, 2));
    clock.advance(25);
    await eventually('the idle check to release tm-1', () => driver.released.length > 0);
    expect(driver.released).toEqual(['tm-1']);
    expect((await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 })).type).toBe('RegistrationRejection');
  });

  it('refuses calls with a stale ResourceManager id or JobMaster token, and they change nothing', async () => {
    const { rmId, gw, tm } = await setup();
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.sendSlotReport(rmId, freeReport('tm-1', 1, 2));
    // A TaskManager still holding the id of an earlier ResourceManager.
    const held = { resourceId: 'tm-1', seq: 2, slots: [{ slotId: { resourceId: 'tm-1', slotIndex: 0 }, allocationId: 'x', jobId: 'other' }, { slotId: { resourceId: 'tm-1', slotIndex: 1 } }] };
    await expect(gw.sendSlotReport('old-rm', held)).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH', retriable: false });
    expect((await gw.requestTaskManagerInfo())[0]?.freeSlots).toBe(2);
    // An earlier JobMaster of the job (another id) and one of an older attempt.
    const stale = { ...JM, jobMasterId: 'jm-0' };
    await expect(gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: stale, jobMasterAddress: 'jm', slots: 2 })).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await expect(gw.declareResourceRequirements('old-rm', { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 2 })).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await gw.registerJobMaster({ ...JM, jobMasterId: 'jm-2', attempt: 1 }, 'jm');
    await expect(gw.registerJobMaster({ ...JM, jobMasterId: 'jm-3', attempt: 0 }, 'jm')).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    await expect(gw.heartbeatFromJobMaster(rmId, JM)).rejects.toMatchObject({ code: 'FENCING_TOKEN_MISMATCH' });
    // Nothing was allocated for any of them; the current JobMaster's requirement is served.
    await new Promise((r) => setTimeout(r, 20));
    expect(tm.requests).toEqual([]);
    const current = { ...JM, jobMasterId: 'jm-2', attempt: 1 };
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: current, jobMasterAddress: 'jm', slots: 1 });
    await eventually('the slot request for the current JobMaster', () => tm.requests.length > 0);
    expect(tm.requests.map((r) => [r.resourceManagerId, r.jobMaster])).toEqual([[rmId, current]]);
  });

  it('tells a TaskManager it dropped so, when its heartbeat comes after all', async () => {
    const { rmId, gw, rm } = await setup();
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    rm.peerConnectionClosed('tm-1');
    // The loss is posted to the RM's mailbox, so the next call sees it.
    expect(await gw.requestTaskManagerInfo()).toEqual([]);
    await expect(gw.heartbeatFromTaskExecutor(rmId, freeReport('tm-1', 2, 2))).rejects.toMatchObject({ code: 'TASK_MANAGER_NOT_REGISTERED', retriable: false });
  });

  it('keeps a TaskManager whose connection closed while its driver reports it alive, until its heartbeats stop', async () => {
    const clock = new ManualClock(0);
    const { rmId, gw, rm, driver } = await setup({ clock, heartbeatIntervalMs: 10, heartbeatTimeoutMs: 50 });
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    driver.vouched.add('tm-1');
    rm.peerConnectionClosed('tm-1');
    // Still registered: a heartbeat is taken, the slots stay.
    await gw.heartbeatFromTaskExecutor(rmId, freeReport('tm-1', 2, 2));
    expect((await gw.requestTaskManagerInfo()).map((t) => t.resourceId)).toEqual(['tm-1']);
    // Silent past the timeout, it is lost after all.
    let dropped = false;
    await advanceUntil(clock, 'the silent TaskManager to be dropped', () => {
      void gw.requestTaskManagerInfo().then((l) => (dropped = l.length === 0));
      return dropped;
    });
    await expect(gw.heartbeatFromTaskExecutor(rmId, freeReport('tm-1', 2, 2))).rejects.toMatchObject({ code: 'TASK_MANAGER_NOT_REGISTERED' });
  });

  it('frees the slots of a JobMaster whose heartbeats stop, and drops it at once when its connection closes', async () => {
    const clock = new ManualClock(0);
    const { rmId, gw, tm, rm } = await setup({ clock, heartbeatIntervalMs: 10, heartbeatTimeoutMs: 50 });
    for (const t of timers.splice(0)) clearInterval(t);
    await gw.registerTaskExecutor({ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 });
    await gw.sendSlotReport(rmId, freeReport('tm-1', 1, 2));
    await gw.declareResourceRequirements(rmId, { jobId: 'job', jobMaster: JM, jobMasterAddress: 'jm', slots: 1 });
    await eventually('the slot request', () => tm.requests.length > 0);
    const allocationId = tm.requests[0]!.allocationId;
    await gw.heartbeatFromTaskExecutor(rmId, { resourceId: 'tm-1', seq: 2, slots: [{ slotId: { resourceId: 'tm-1', slotIndex: 0 }, allocationId, jobId: 'job' }, { slotId: { resourceId: 'tm-1', slotIndex: 1 } }] });
    // The TaskManager keeps beating; the JobMaster is silent.
    await advanceUntil(clock, 'the silent JobMaster\'s slot to be freed', () => {
      void gw.heartbeatFromTaskExecutor(rmId, { resourceId: 'tm-1', seq: 3 + clock.nowMs(), slots: [{ slotId: { resourceId: 'tm-1', slotIndex: 0 }, allocationId, jobId: 'job' }, { slotId: { resourceId: 'tm-1', slotIndex: 1 } }] });
      return tm.frees.length > 0;
    });
    expect(tm.frees).toEqual([allocationId]);
    await expect(gw.heartbeatFromJobMaster(rmId, JM)).rejects.toMatchObject({ code: 'JOB_MASTER_NOT_REGISTERED' });
    // Registered again, it is dropped the moment its connection closes.
    await gw.registerJobMaster(JM, 'jm');
    await gw.heartbeatFromJobMaster(rmId, JM);
    rm.peerConnectionClosed('jm');
    await expect(gw.heartbeatFromJobMaster(rmId, JM)).rejects.toMatchObject({ code: 'JOB_MASTER_NOT_REGISTERED' });
  });
});
