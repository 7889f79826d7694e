import { silentLogger } from '@sluice/common';
import {
  DEFAULT_JOB_CONFIG,
  LocalRpcService,
  type CollectedRecords,
  type JobMasterGateway,
  type JobStatus,
  type RegistrationResponse,
  type ResourceManagerGateway,
  type SlotOffer,
  type SlotReport,
  type TaskDeploymentDescriptor,
  type TaskExecutionState,
  type TaskExecutorGateway,
  type TaskManagerInfo,
  type TaskManagerRegistration,
} from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskManager } from './task-manager.js';
import { TestingTaskRunner } from './testing-task-runner.js';

class TestingResourceManagerGateway implements ResourceManagerGateway {
  registrations: TaskManagerRegistration[] = [];
  reports: SlotReport[] = [];
  heartbeats: SlotReport[] = [];
  disconnects: string[] = [];
  async registerTaskExecutor(r: TaskManagerRegistration): Promise<RegistrationResponse> {
    this.registrations.push(r);
    return { type: 'RegistrationSuccess', registrationId: 'reg-1', heartbeatIntervalMs: 10_000 };
  }
  async sendSlotReport(r: SlotReport): Promise<void> {
    this.reports.push(r);
  }
  async heartbeatFromTaskExecutor(r: SlotReport): Promise<void> {
    this.heartbeats.push(r);
  }
  async disconnectTaskExecutor(resourceId: string): Promise<void> {
    this.disconnects.push(resourceId);
  }
  async registerJobMaster(): Promise<void> {}
  async declareResourceRequirements(): Promise<void> {}
  async disconnectJobMaster(): Promise<void> {}
  async requestTaskManagerInfo(): Promise<TaskManagerInfo[]> {
    return [];
  }
}

class TestingJobMasterGateway implements JobMasterGateway {
  states: TaskExecutionState[] = [];
  collected: CollectedRecords[] = [];
  disconnects: string[] = [];
  constructor(private readonly accept: boolean) {}
  async offerSlots(_r: string, _a: string, offers: SlotOffer[]): Promise<SlotOffer[]> {
    return this.accept ? offers : [];
  }
  async updateTaskExecutionState(s: TaskExecutionState): Promise<void> {
    this.states.push(s);
  }
  async reportCollectedRecords(b: CollectedRecords): Promise<void> {
    this.collected.push(b);
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

  async function setup(accept = true) {
    const rpc = new LocalRpcService();
    const rm = new TestingResourceManagerGateway();
    const jm = new TestingJobMasterGateway(accept);
    rpc.register('rm', rm);
    rpc.register('jm', jm);
    const runner = new TestingTaskRunner();
    const tm = new TaskManager({ resourceId: 'tm-1', numberOfSlots: 2, rpc, address: 'tm-1', resourceManagerAddress: 'rm', taskRunner: runner, logger: silentLogger });
    started.push(tm);
    await tm.start();
    const gw = await rpc.connect<TaskExecutorGateway>('tm-1');
    return { rpc, rm, jm, runner, tm, gw };
  }

  it('registers, reports slots with increasing seq, and offers allocated slots to the JobMaster', async () => {
    const { rm, gw, tm } = await setup();
    await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 1 }, 'job-1', 'a1', 'jm');
    await tick();
    expect(rm.registrations).toEqual([{ resourceId: 'tm-1', address: 'tm-1', numberOfSlots: 2 }]);
    const seqs = rm.reports.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(rm.reports.at(-1)?.slots[1]).toEqual({ slotId: { resourceId: 'tm-1', slotIndex: 1 }, allocationId: 'a1', jobId: 'job-1' });
    expect(tm.metricsSnapshot()).toMatchObject({ resourceId: 'tm-1', slotsTotal: 2, slotsFree: 1 });
  });

  it('acknowledges a slot request with the seq of the first report that shows it, also when repeated', async () => {
    const { rm, gw } = await setup();
    const first = await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 0 }, 'job-1', 'a1', 'jm');
    const second = await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 1 }, 'job-1', 'a2', 'jm');
    const again = await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 0 }, 'job-1', 'a1', 'jm');
    await tick();
    const held = (seq: number): (string | undefined)[] | undefined => rm.reports.find((r) => r.seq === seq)?.slots.map((s) => s.allocationId);
    expect(held(first.reportSeq - 1)).toEqual([undefined, undefined]);
    expect(held(first.reportSeq)).toEqual(['a1', undefined]);
    expect(held(second.reportSeq)).toEqual(['a1', 'a2']);
    expect(again.reportSeq).toBeGreaterThanOrEqual(second.reportSeq);
  });

  it('frees a slot the JobMaster declines', async () => {
    const { rm, gw } = await setup(false);
    await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 0 }, 'job-1', 'a1', 'jm');
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

  it('rejects a task whose allocation is not held here, with a clear error', async () => {
    const { gw } = await setup();
    await expect(gw.submitTask(tdd('e1', 'nope'))).rejects.toThrow(/holds no slot with allocation nope/);
    await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 0 }, 'job-1', 'a1', 'jm');
    await expect(gw.submitTask(tdd('e1', 'a1', 'job-2'))).rejects.toThrow(/belongs to job job-1/);
  });

  it('forwards running, collected records and the terminal state in order', async () => {
    const { gw, jm, runner } = await setup();
    await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 0 }, 'job-1', 'a1', 'jm');
    await gw.submitTask(tdd('e1', 'a1'));
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
    await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 0 }, 'job-1', 'a1', 'jm');
    await gw.requestSlot({ resourceId: 'tm-1', slotIndex: 1 }, 'job-1', 'a2', 'jm');
    await gw.submitTask(tdd('e1', 'a1'));
    await gw.submitTask(tdd('e2', 'a2'));
    await runner.waitForTasks(2);
    await gw.freeSlot('a1', 'test');
    await tick();
    expect(runner.task('e1').status).toBe('canceled');
    expect(jm.states.find((s) => s.executionId === 'e1' && s.state === 'CANCELED')).toBeDefined();
    await tm.stop();
    expect(jm.disconnects).toEqual(['tm-1: TaskManager stopped']);
    expect(rm.disconnects).toEqual(['tm-1']);
    expect(runner.closed).toBe(true);
    await expect(rpc.connect('tm-1')).rejects.toThrow(/no component is registered/);
  });
});
