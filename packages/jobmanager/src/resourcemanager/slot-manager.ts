/**
 * The SlotManager: pure bookkeeping that matches each job's declared slot requirement to free
 * slots in the TaskManagers' latest slot reports. It never calls anyone; `plan()` says which
 * slots to allocate, which to release and how many slots are still missing, and the
 * ResourceManager carries that out. Reports older than the latest `seq` are ignored, and a slot
 * the RM has just allocated stays reserved until a report shows the allocation, or until a report
 * at least as new as the one the TaskManager named in its acknowledgement arrives. Reports sent
 * before the TaskManager took the request may reach the RM after its acknowledgement; they must
 * not make the slot look free again, or the RM would allocate it twice.
 */
import type { JobMasterToken, ResourceRequirements, SlotId, SlotReport, SlotStatus, TaskManagerInfo, TaskManagerRegistration } from '@sluice/protocol';

export interface SlotAllocation {
  slotId: SlotId;
  taskManagerAddress: string;
  jobId: string;
  allocationId: string;
  /** The JobMaster the slot is for: the TaskManager offers it there and fences its calls with this token. */
  jobMaster: JobMasterToken;
  jobMasterAddress: string;
}

export interface SlotRelease {
  resourceId: string;
  taskManagerAddress: string;
  allocationId: string;
  jobId: string;
}

export interface SlotPlan {
  allocations: SlotAllocation[];
  releases: SlotRelease[];
  /** Slots wanted by jobs that no free slot can serve right now. */
  missingSlots: number;
}

interface RegisteredTaskManager {
  registration: TaskManagerRegistration;
  seq: number;
  /** Undefined until the first report after (re-)registration arrives. */
  slots: SlotStatus[] | undefined;
  /** Since when every slot has been free (undefined while any is allocated or reserved). */
  idleSince: number | undefined;
}

interface PendingAllocation {
  slotId: SlotId;
  jobId: string;
  /** Set when the TaskManager accepted the request: its reports from this seq on show it (or a later change). */
  shownFromSeq: number | undefined;
}

export class SlotManager {
  private readonly taskManagers = new Map<string, RegisteredTaskManager>();
  private readonly requirements = new Map<string, ResourceRequirements>();
  private readonly pending = new Map<string, PendingAllocation>();
  /** Allocation id → TaskManager, for releases sent but not yet reflected in a report. */
  private readonly releasing = new Map<string, string>();

  registerTaskManager(registration: TaskManagerRegistration): void {
    // A re-registration may come from a restarted process whose seq starts over; allocations the
    // earlier process accepted are gone with it, and their report seqs mean nothing any more.
    this.taskManagers.set(registration.resourceId, { registration, seq: -1, slots: undefined, idleSince: undefined });
    for (const [id, p] of this.pending) if (p.slotId.resourceId === registration.resourceId && p.shownFromSeq !== undefined) this.pending.delete(id);
  }

  isRegistered(resourceId: string): boolean {
    return this.taskManagers.has(resourceId);
  }

  registeredCount(): number {
    return this.taskManagers.size;
  }

  /** Forgets a TaskManager; returns the jobs (id → JobMaster address) that held slots on it. */
  unregisterTaskManager(resourceId: string): Map<string, string> {
    const tm = this.taskManagers.get(resourceId);
    const jobs = new Map<string, string>();
    if (tm === undefined) return jobs;
    for (const s of tm.slots ?? []) {
      if (s.allocationId !== undefined) this.releasing.delete(s.allocationId);
      const req = s.jobId === undefined ? undefined : this.requirements.get(s.jobId);
      if (req !== undefined) jobs.set(req.jobId, req.jobMasterAddress);
    }
    for (const [id, p] of this.pending) {
      if (p.slotId.resourceId !== resourceId) continue;
      this.pending.delete(id);
      const req = this.requirements.get(p.jobId);
      if (req !== undefined) jobs.set(req.jobId, req.jobMasterAddress);
    }
    this.taskManagers.delete(resourceId);
    return jobs;
  }

  /** Applies a report; returns false when it is stale or from an unknown TaskManager. */
  applySlotReport(report: SlotReport, nowMs: number): boolean {
    const tm = this.taskManagers.get(report.resourceId);
    if (tm === undefined || report.seq <= tm.seq) return false;
    tm.seq = report.seq;
    tm.slots = report.slots.map((s) => ({ ...s, slotId: { ...s.slotId } }));
    const heldAt = new Map(tm.slots.map((s) => [s.slotId.slotIndex, s.allocationId]));
    for (const [id, p] of this.pending) {
      if (p.slotId.resourceId !== report.resourceId) continue;
      if (heldAt.get(p.slotId.slotIndex) === id || (p.shownFromSeq !== undefined && report.seq >= p.shownFromSeq)) this.pending.delete(id);
    }
    for (const [id, owner] of this.releasing) if (owner === report.resourceId && !tm.slots.some((s) => s.allocationId === id)) this.releasing.delete(id);
    this.updateIdle(tm, nowMs);
    return true;
  }

  setRequirements(requirements: ResourceRequirements): void {
    if (requirements.slots <= 0) this.requirements.delete(requirements.jobId);
    else this.requirements.set(requirements.jobId, { ...requirements });
    if (requirements.slots <= 0) for (const [id, p] of this.pending) if (p.jobId === requirements.jobId) this.pending.delete(id);
  }

  /** The TaskManager took the allocation; its reports from `reportSeq` on show it. */
  allocationAcknowledged(allocationId: string, reportSeq: number): void {
    const p = this.pending.get(allocationId);
    if (p === undefined) return;
    p.shownFromSeq = reportSeq;
    // A report that new was applied already (the slot has changed again since): it is the truth.
    const tm = this.taskManagers.get(p.slotId.resourceId);
    if (tm !== undefined && tm.seq >= reportSeq) this.pending.delete(allocationId);
  }

  allocationFailed(allocationId: string): void {
    this.pending.delete(allocationId);
  }

  /** Decides what to allocate and release now; allocations it returns are reserved at once. */
  plan(newAllocationId: () => string, nowMs: number): SlotPlan {
    const free = this.freeSlots();
    const allocations: SlotAllocation[] = [];
    let missingSlots = 0;
    for (const req of this.requirements.values()) {
      let want = req.slots - this.heldBy(req.jobId);
      while (want > 0) {
        const slot = free.shift();
        if (slot === undefined) break;
        const allocationId = newAllocationId();
        this.pending.set(allocationId, { slotId: slot.slotId, jobId: req.jobId, shownFromSeq: undefined });
        allocations.push({ slotId: slot.slotId, taskManagerAddress: slot.address, jobId: req.jobId, allocationId, jobMaster: req.jobMaster, jobMasterAddress: req.jobMasterAddress });
        want--;
      }
      missingSlots += Math.max(0, want);
    }
    const releases: SlotRelease[] = [];
    for (const tm of this.taskManagers.values()) {
      for (const s of tm.slots ?? []) {
        if (s.allocationId === undefined || this.releasing.has(s.allocationId)) continue;
        if (s.jobId !== undefined && this.requirements.has(s.jobId)) continue;
        this.releasing.set(s.allocationId, tm.registration.resourceId);
        releases.push({ resourceId: tm.registration.resourceId, taskManagerAddress: tm.registration.address, allocationId: s.allocationId, jobId: s.jobId ?? '' });
      }
      this.updateIdle(tm, nowMs);
    }
    return { allocations, releases, missingSlots };
  }

  /** Slots of TaskManagers that registered but have not reported yet: soon free, not missing. */
  unreportedSlots(): number {
    let n = 0;
    for (const tm of this.taskManagers.values()) if (tm.slots === undefined) n += tm.registration.numberOfSlots;
    return n;
  }

  /** TaskManagers whose slots have all been free for at least `timeoutMs`. */
  idleTaskManagers(nowMs: number, timeoutMs: number): string[] {
    const out: string[] = [];
    for (const tm of this.taskManagers.values()) {
      if (tm.idleSince !== undefined && nowMs - tm.idleSince >= timeoutMs) out.push(tm.registration.resourceId);
    }
    return out;
  }

  taskManagerInfo(): TaskManagerInfo[] {
    return [...this.taskManagers.values()].map((tm) => {
      const info: TaskManagerInfo = {
        resourceId: tm.registration.resourceId,
        address: tm.registration.address,
        numberOfSlots: tm.registration.numberOfSlots,
        freeSlots: this.freeSlots().filter((s) => s.slotId.resourceId === tm.registration.resourceId).length,
      };
      if (tm.registration.metricsUrl !== undefined) info.metricsUrl = tm.registration.metricsUrl;
      if (tm.registration.dataAddress !== undefined) info.dataAddress = tm.registration.dataAddress;
      return info;
    });
  }

  private freeSlots(): { slotId: SlotId; address: string }[] {
    const reserved = new Set([...this.pending.values()].map((p) => `${p.slotId.resourceId}/${p.slotId.slotIndex}`));
    const out: { slotId: SlotId; address: string }[] = [];
    for (const tm of this.taskManagers.values()) {
      for (const s of tm.slots ?? []) {
        if (s.allocationId === undefined && !reserved.has(`${s.slotId.resourceId}/${s.slotId.slotIndex}`)) out.push({ slotId: s.slotId, address: tm.registration.address });
      }
    }
    return out;
  }

  private heldBy(jobId: string): number {
    let n = 0;
    for (const tm of this.taskManagers.values()) for (const s of tm.slots ?? []) if (s.jobId === jobId && s.allocationId !== undefined && !this.releasing.has(s.allocationId)) n++;
    for (const p of this.pending.values()) if (p.jobId === jobId) n++;
    return n;
  }

  private updateIdle(tm: RegisteredTaskManager, nowMs: number): void {
    const busy =
      tm.slots === undefined ||
      tm.slots.some((s) => s.allocationId !== undefined) ||
      [...this.pending.values()].some((p) => p.slotId.resourceId === tm.registration.resourceId);
    if (busy) tm.idleSince = undefined;
    else tm.idleSince ??= nowMs;
  }
}

/**
 * How many workers to ask the driver for: enough for the missing slots, counting workers already
 * requested (and registered ones not reported yet), never past `maxWorkers` in total.
 */
export function workersToRequest(input: { missingSlots: number; pendingWorkers: number; unreportedSlots: number; slotsPerWorker: number; knownWorkers: number; maxWorkers: number }): number {
  const comingSlots = input.pendingWorkers * input.slotsPerWorker + input.unreportedSlots;
  const wanted = Math.ceil(Math.max(0, input.missingSlots - comingSlots) / input.slotsPerWorker);
  const room = Math.max(0, input.maxWorkers - input.knownWorkers - input.pendingWorkers);
  return Math.min(wanted, room);
}
