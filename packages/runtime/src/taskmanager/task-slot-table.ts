/**
 * The TaskManager's slot table: which slot is allocated to which job (under which allocation id,
 * for which JobMaster). Pure data with no I/O, so every rule about allocation is testable alone;
 * the TaskManager turns its snapshots into SlotReports.
 */
import { SluiceError } from '@sluice/common';
import type { JobMasterToken, SlotReport, SlotStatus } from '@sluice/protocol';

export interface TaskSlot {
  readonly index: number;
  allocationId?: string;
  jobId?: string;
  jobMasterAddress?: string;
  /** The fencing token of the JobMaster the slot is for: its calls must carry it, and ours to it do. */
  jobMaster?: JobMasterToken;
}

export type AllocateOutcome = 'allocated' | 'alreadyAllocated';

export class TaskSlotTable {
  private readonly slots: TaskSlot[];

  constructor(
    private readonly resourceId: string,
    numberOfSlots: number,
  ) {
    if (!Number.isInteger(numberOfSlots) || numberOfSlots < 1) {
      throw new SluiceError('CONFIGURATION', `TaskManager '${resourceId}' needs a positive integer number of slots, got ${numberOfSlots}`);
    }
    this.slots = Array.from({ length: numberOfSlots }, (_, index) => ({ index }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Allocates slot `index` to a job. Repeating the same allocation is harmless (the RM may retry). */
  allocate(index: number, jobMaster: JobMasterToken, allocationId: string, jobMasterAddress: string): AllocateOutcome {
    const jobId = jobMaster.jobId;
    const slot = this.slots[index];
    if (slot === undefined) {
      throw new SluiceError('SLOT_NOT_FOUND', `TaskManager '${this.resourceId}' has no slot ${index} (it has ${this.slots.length} slots)`);
    }
    if (slot.allocationId === allocationId) return 'alreadyAllocated';
    if (slot.allocationId !== undefined) {
      throw new SluiceError(
        'SLOT_OCCUPIED',
        `slot ${index} of TaskManager '${this.resourceId}' is already allocated (allocation ${slot.allocationId}, job ${slot.jobId}); cannot allocate it to job ${jobId}`,
        { retriable: true },
      );
    }
    if (this.byAllocation(allocationId) !== undefined) {
      throw new SluiceError('SLOT_ALLOCATION_IN_USE', `allocation ${allocationId} is already used by another slot of TaskManager '${this.resourceId}'`);
    }
    slot.allocationId = allocationId;
    slot.jobId = jobId;
    slot.jobMasterAddress = jobMasterAddress;
    slot.jobMaster = jobMaster;
    return 'allocated';
  }

  /** Frees the slot holding `allocationId`; returns what it held, or undefined if no slot did. */
  free(allocationId: string): { index: number; jobId: string; jobMasterAddress: string } | undefined {
    const slot = this.slots.find((s) => s.allocationId === allocationId);
    if (slot === undefined) return undefined;
    const held = { index: slot.index, jobId: slot.jobId ?? '', jobMasterAddress: slot.jobMasterAddress ?? '' };
    delete slot.allocationId;
    delete slot.jobId;
    delete slot.jobMasterAddress;
    delete slot.jobMaster;
    return held;
  }

  byAllocation(allocationId: string): Readonly<TaskSlot> | undefined {
    return this.slots.find((s) => s.allocationId === allocationId);
  }

  /** Allocation ids of the slots held for `jobId`. */
  allocationsOf(jobId: string): string[] {
    return this.allocated().filter((s) => s.jobId === jobId).map((s) => s.allocationId!);
  }

  allocated(): Readonly<TaskSlot>[] {
    return this.slots.filter((s) => s.allocationId !== undefined);
  }

  freeCount(): number {
    return this.slots.length - this.allocated().length;
  }

  report(seq: number): SlotReport {
    const slots: SlotStatus[] = this.slots.map((s) => {
      const status: SlotStatus = { slotId: { resourceId: this.resourceId, slotIndex: s.index } };
      if (s.allocationId !== undefined) status.allocationId = s.allocationId;
      if (s.jobId !== undefined) status.jobId = s.jobId;
      return status;
    });
    return { resourceId: this.resourceId, seq, slots };
  }
}
