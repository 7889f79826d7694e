/**
 * The driver's workers in memory, one per Mesos task `taskmanager-<n>`, each mirrored by a
 * WorkerRecord in the HA store (the driver writes the record before the call it guards). The
 * ResourceManager names workers by its own resource id; the table maps both ways. Task numbers
 * continue after the highest one recorded or seen from Mesos, so a restart does not reuse the
 * id of a task Mesos may still know.
 */
import type { WorkerRecord } from '@sluice/ha';
import type { TaskManagerReport } from '@sluice/mesos-executor';
import type { PlacedWorker } from '../offers/types.js';
import { taskIdOf, taskNumber } from './task-states.js';

export interface Worker {
  /** The Mesos task id, `taskmanager-<n>`. */
  readonly taskId: string;
  /** The ResourceManager's id; the TaskManager registers under it. */
  readonly resourceId: string;
  readonly slots: number;
  state: WorkerRecord['state'];
  agentId?: string;
  hostname?: string;
  attributes?: Record<string, string>;
  region?: string;
  zone?: string;
  /** onWorkerStarted was reported (TASK_RUNNING seen). */
  started: boolean;
  /** Not offered to the matcher before this time: the failure-rate brake. */
  notBeforeMs?: number;
  /** The executor's latest report (framework message). */
  report?: TaskManagerReport;
  /** When the driver received `report` (its own clock: the executor's may differ). */
  reportReceivedMs?: number;
}

export function toRecord(w: Worker, profile: string): WorkerRecord {
  const r: WorkerRecord = { workerId: w.taskId, state: w.state, profile, slots: w.slots };
  if (w.resourceId !== w.taskId) r.resourceId = w.resourceId;
  if (w.agentId !== undefined) r.agentId = w.agentId;
  if (w.hostname !== undefined) r.hostname = w.hostname;
  if (w.attributes !== undefined) r.attributes = w.attributes;
  if (w.region !== undefined) r.region = w.region;
  if (w.zone !== undefined) r.zone = w.zone;
  return r;
}

export function fromRecord(r: WorkerRecord, defaultSlots: number): Worker {
  const w: Worker = { taskId: r.workerId, resourceId: r.resourceId ?? r.workerId, slots: r.slots ?? defaultSlots, state: r.state, started: false };
  if (r.agentId !== undefined) w.agentId = r.agentId;
  if (r.hostname !== undefined) w.hostname = r.hostname;
  if (r.attributes !== undefined) w.attributes = r.attributes;
  if (r.region !== undefined) w.region = r.region;
  if (r.zone !== undefined) w.zone = r.zone;
  return w;
}

export class WorkerTable {
  private readonly byTask = new Map<string, Worker>();
  private readonly byResource = new Map<string, Worker>();
  private highest = 0;

  get size(): number {
    return this.byTask.size;
  }

  all(): Worker[] {
    return [...this.byTask.values()];
  }

  get(taskId: string): Worker | undefined {
    return this.byTask.get(taskId);
  }

  ofResource(resourceId: string): Worker | undefined {
    return this.byResource.get(resourceId);
  }

  add(w: Worker): void {
    this.byTask.set(w.taskId, w);
    this.byResource.set(w.resourceId, w);
    this.sawTaskId(w.taskId);
  }

  delete(w: Worker): void {
    if (this.byTask.get(w.taskId) === w) this.byTask.delete(w.taskId);
    if (this.byResource.get(w.resourceId) === w) this.byResource.delete(w.resourceId);
  }

  /** Counts a task id Mesos reported, so the next id is above it even if no record has it. */
  sawTaskId(taskId: string): void {
    const n = taskNumber(taskId);
    if (n !== undefined && n > this.highest) this.highest = n;
  }

  /** The next unused task id (not yet taken: add() takes it). */
  nextTaskId(): string {
    return taskIdOf(this.highest + 1);
  }

  /** Workers recorded New and not held back by the brake at `nowMs`. */
  pending(nowMs: number): Worker[] {
    return this.all().filter((w) => w.state === 'new' && (w.notBeforeMs === undefined || w.notBeforeMs <= nowMs));
  }

  /** Workers Mesos has (launched or being killed), as the matcher's constraints see them. */
  placed(): PlacedWorker[] {
    const out: PlacedWorker[] = [];
    for (const w of this.byTask.values()) {
      if (w.state === 'new' || w.agentId === undefined) continue;
      const p: PlacedWorker = { workerId: w.taskId, agentId: w.agentId, hostname: w.hostname ?? '', attributes: w.attributes ?? {} };
      if (w.region !== undefined) p.region = w.region;
      if (w.zone !== undefined) p.zone = w.zone;
      out.push(p);
    }
    return out;
  }

  counts(): { pending: number; launched: number; running: number } {
    let pending = 0;
    let launched = 0;
    let running = 0;
    for (const w of this.byTask.values()) {
      if (w.state === 'new') pending++;
      else if (w.state === 'launched' && w.started) running++;
      else if (w.state === 'launched') launched++;
    }
    return { pending, launched, running };
  }
}
