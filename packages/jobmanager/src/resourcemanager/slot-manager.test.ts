import type { SlotReport } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { SlotManager, workersToRequest } from './slot-manager.js';

function report(resourceId: string, seq: number, allocated: Record<number, [string, string]>, slots = 2): SlotReport {
  return {
    resourceId,
    seq,
    slots: Array.from({ length: slots }, (_, i) => {
      const a = allocated[i];
      return a === undefined ? { slotId: { resourceId, slotIndex: i } } : { slotId: { resourceId, slotIndex: i }, allocationId: a[0], jobId: a[1] };
    }),
  };
}

function ids(): () => string {
  let n = 0;
  return () => `alloc-${++n}`;
}


const jm = (jobId: string) => ({ jobId, jobMasterId: `jm-${jobId}`, attempt: 0 });

describe('SlotManager', () => {
  it('ignores slot reports whose seq is not newer than the latest', () => {
    const sm = new SlotManager();
    sm.registerTaskManager({ resourceId: 'tm', address: 'tm-addr', numberOfSlots: 2 });
    expect(sm.applySlotReport(report('tm', 5, { 0: ['x', 'job-a'] }), 0)).toBe(true);
    expect(sm.applySlotReport(report('tm', 3, {}), 0)).toBe(false);
    expect(sm.applySlotReport(report('tm', 5, {}), 0)).toBe(false);
    expect(sm.taskManagerInfo()[0]?.freeSlots).toBe(1);
  });

  it('ignores reports from unknown TaskManagers and restarts seq on re-registration', () => {
    const sm = new SlotManager();
    expect(sm.applySlotReport(report('tm', 1, {}), 0)).toBe(false);
    sm.registerTaskManager({ resourceId: 'tm', address: 'a', numberOfSlots: 2 });
    expect(sm.applySlotReport(report('tm', 9, {}), 0)).toBe(true);
    sm.registerTaskManager({ resourceId: 'tm', address: 'a', numberOfSlots: 2 });
    expect(sm.applySlotReport(report('tm', 1, {}), 0)).toBe(true);
  });

  it('matches requirements to free slots and reports the shortfall', () => {
    const sm = new SlotManager();
    sm.registerTaskManager({ resourceId: 'tm', address: 'tm-addr', numberOfSlots: 2 });
    sm.applySlotReport(report('tm', 1, {}), 0);
    sm.setRequirements({ jobId: 'job-a', jobMaster: jm('job-a'), jobMasterAddress: 'jm-a', slots: 3 });
    const plan = sm.plan(ids(), 0);
    expect(plan.allocations.map((a) => [a.slotId.slotIndex, a.jobId, a.allocationId, a.taskManagerAddress])).toEqual([
      [0, 'job-a', 'alloc-1', 'tm-addr'],
      [1, 'job-a', 'alloc-2', 'tm-addr'],
    ]);
    expect(plan.missingSlots).toBe(1);
  });

  it('keeps just-allocated slots reserved until a report confirms them, even past an older free report', () => {
    const sm = new SlotManager();
    sm.registerTaskManager({ resourceId: 'tm', address: 'tm-addr', numberOfSlots: 2 });
    sm.applySlotReport(report('tm', 1, {}), 0);
    sm.setRequirements({ jobId: 'job-a', jobMaster: jm('job-a'), jobMasterAddress: 'jm-a', slots: 1 });
    const next = ids();
    expect(sm.plan(next, 0).allocations).toHaveLength(1);
    // A heartbeat sent before the TaskManager processed the request still shows the slot free.
    sm.applySlotReport(report('tm', 2, {}), 0);
    sm.setRequirements({ jobId: 'job-b', jobMaster: jm('job-b'), jobMasterAddress: 'jm-b', slots: 2 });
    const plan = sm.plan(next, 0);
    expect(plan.allocations.map((a) => [a.jobId, a.slotId.slotIndex])).toEqual([['job-b', 1]]);
    expect(plan.missingSlots).toBe(1);
    sm.applySlotReport(report('tm', 3, { 0: ['alloc-1', 'job-a'], 1: ['alloc-2', 'job-b'] }), 0);
    expect(sm.plan(next, 0).allocations).toEqual([]);
  });

  // One slot, one job wanting it, allocation alloc-1 planned after report 1; then these events.
  type Step = { ack: number } | { report: number; held: boolean } | { reregister: true };
  it.each<[string, number, Step[]]>([
    ['a report older than the acknowledged seq shows the slot free', 0, [{ ack: 3 }, { report: 2, held: false }]],
    ['reports arrive before the acknowledgement, the older ones free', 0, [{ report: 2, held: false }, { ack: 3 }, { report: 3, held: true }]],
    ['a report shows the allocation before the acknowledgement', 0, [{ report: 2, held: true }, { ack: 2 }]],
    ['no acknowledgement yet and a report shows the slot free', 0, [{ report: 2, held: false }, { report: 3, held: false }]],
    ['the acknowledged report shows the slot freed again', 1, [{ ack: 3 }, { report: 3, held: false }]],
    ['the acknowledgement names a report already applied, which showed it free', 1, [{ report: 2, held: false }, { report: 3, held: false }, { ack: 3 }]],
    ['the TaskManager re-registers after acknowledging (a new process)', 1, [{ ack: 3 }, { reregister: true }, { report: 1, held: false }]],
  ])('%s → %i new allocation(s)', (_name, expected, steps) => {
    const sm = new SlotManager();
    const registration = { resourceId: 'tm', address: 'tm-addr', numberOfSlots: 1 };
    sm.registerTaskManager(registration);
    sm.applySlotReport(report('tm', 1, {}, 1), 0);
    sm.setRequirements({ jobId: 'job-a', jobMaster: jm('job-a'), jobMasterAddress: 'jm-a', slots: 1 });
    const next = ids();
    expect(sm.plan(next, 0).allocations.map((a) => a.allocationId)).toEqual(['alloc-1']);
    for (const step of steps) {
      if ('ack' in step) sm.allocationAcknowledged('alloc-1', step.ack);
      else if ('reregister' in step) sm.registerTaskManager(registration);
      else sm.applySlotReport(report('tm', step.report, step.held ? { 0: ['alloc-1', 'job-a'] } : {}, 1), 0);
      const plan = sm.plan(next, 0);
      if (step !== steps[steps.length - 1]) expect(plan.allocations).toEqual([]);
      else expect(plan.allocations).toHaveLength(expected);
    }
  });

  it('releases the slots of a job that declares zero, once', () => {
    const sm = new SlotManager();
    sm.registerTaskManager({ resourceId: 'tm', address: 'tm-addr', numberOfSlots: 2 });
    sm.setRequirements({ jobId: 'job-a', jobMaster: jm('job-a'), jobMasterAddress: 'jm-a', slots: 2 });
    sm.applySlotReport(report('tm', 1, { 0: ['a1', 'job-a'], 1: ['a2', 'job-a'] }), 0);
    expect(sm.plan(ids(), 0).releases).toEqual([]);
    sm.setRequirements({ jobId: 'job-a', jobMaster: jm('job-a'), jobMasterAddress: 'jm-a', slots: 0 });
    expect(sm.plan(ids(), 0).releases.map((r) => r.allocationId)).toEqual(['a1', 'a2']);
    expect(sm.plan(ids(), 0).releases).toEqual([]);
    sm.applySlotReport(report('tm', 2, {}), 10);
    expect(sm.idleTaskManagers(15, 5)).toEqual(['tm']);
    expect(sm.idleTaskManagers(14, 5)).toEqual([]);
  });

  it('names the jobs affected when a TaskManager goes away', () => {
    const sm = new SlotManager();
    sm.registerTaskManager({ resourceId: 'tm', address: 'tm-addr', numberOfSlots: 2 });
    sm.setRequirements({ jobId: 'job-a', jobMaster: jm('job-a'), jobMasterAddress: 'jm-a', slots: 1 });
    sm.applySlotReport(report('tm', 1, { 1: ['a1', 'job-a'] }), 0);
    expect([...sm.unregisterTaskManager('tm')]).toEqual([['job-a', 'jm-a']]);
    expect(sm.plan(ids(), 0).missingSlots).toBe(1);
  });
});

describe('workersToRequest', () => {
  const base = { missingSlots: 0, pendingWorkers: 0, unreportedSlots: 0, slotsPerWorker: 2, knownWorkers: 1, maxWorkers: Infinity };
  it.each([
    [{}, 0],
    [{ missingSlots: 3 }, 2],
    [{ missingSlots: 3, pendingWorkers: 1 }, 1],
    [{ missingSlots: 3, pendingWorkers: 2 }, 0],
    [{ missingSlots: 3, unreportedSlots: 2 }, 1],
    [{ missingSlots: 8, maxWorkers: 3 }, 2],
    [{ missingSlots: 8, maxWorkers: 3, pendingWorkers: 1 }, 1],
    [{ missingSlots: 1, maxWorkers: 1 }, 0],
  ])('%j → %i', (override, expected) => {
    expect(workersToRequest({ ...base, ...override })).toBe(expected);
  });
});
