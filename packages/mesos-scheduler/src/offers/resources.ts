/**
 * One offer's usable resources and what is left of them while workers are placed on it. Every
 * slice handed out is a copy of one offered Resource entry with only its scalar or ranges
 * replaced, so role, reservation(s), allocation_info, disk and provider_id reach the master
 * exactly as offered (it compares them metadata-sensitively). Scalars are counted in integer
 * thousandths, Mesos's own fixed-point precision, so sums never drift (0.1 + 0.2 stays 0.3) and
 * a remainder never goes below zero.
 */
import type { Resource } from '@sluice/mesos-proto';
import type { WorkerProfile } from './types.js';

export const SCALAR_NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;
export type ScalarName = (typeof SCALAR_NAMES)[number];

/** A Mesos scalar in thousandths (Mesos rounds every scalar to three decimals). */
export function toMilli(value: number): number {
  return Math.round(value * 1000);
}

export function fromMilli(milli: number): number {
  return milli / 1000;
}

/** What a worker takes from one offer, in thousandths (ports: how many). */
export interface Needs {
  readonly taskCpus: number;
  readonly taskMem: number;
  readonly disk: number;
  readonly gpus: number;
  readonly executorCpus: number;
  readonly executorMem: number;
  readonly ports: readonly string[];
}

export function needsOf(profile: WorkerProfile): Needs {
  return {
    taskCpus: toMilli(profile.cpus),
    taskMem: toMilli(profile.memMb),
    disk: toMilli(profile.diskMb),
    gpus: toMilli(profile.gpus),
    executorCpus: toMilli(profile.executor.cpus),
    executorMem: toMilli(profile.executor.memMb),
    ports: profile.ports,
  };
}

/** The total of each kind a worker needs from one offer: what `OfferResources.fits` compares. */
export function totalNeeds(n: Needs): Record<ScalarName | 'ports', number> {
  return { cpus: n.taskCpus + n.executorCpus, mem: n.taskMem + n.executorMem, disk: n.disk, gpus: n.gpus, ports: n.ports.length };
}

interface ScalarSlot {
  readonly source: Resource;
  left: number;
}

interface PortSlot {
  readonly source: Resource;
  /** Free [begin, end] pairs, sorted; ports are taken from the front. */
  readonly free: [number, number][];
}

/**
 * Plain resources only: no revocable ones (they may vanish under a running TaskManager), no
 * shared ones, and for disk no persistent volume and no disk source (MOUNT/PATH/BLOCK/RAW disks
 * are whole devices or directories, not the sandbox disk a TaskManager means).
 */
export function usable(r: Resource, offerRole: string | undefined): boolean {
  if (r.revocable !== undefined || r.shared !== undefined) return false;
  const disk = r.disk;
  if (disk !== undefined && (disk.persistence !== undefined || disk.source !== undefined || disk.volume !== undefined)) return false;
  const allocated = r.allocation_info?.role;
  return allocated === undefined || offerRole === undefined || allocated === offerRole;
}

/** True when the offer holds usable gpus: read without preparing the offer, to order offers before matching. */
export function offersGpus(resources: readonly Resource[], offerRole: string | undefined): boolean {
  return resources.some((r) => r.name === 'gpus' && (r.scalar?.value ?? 0) > 0 && usable(r, offerRole));
}

/** Reserved in either format: post-refinement `reservations` non-empty, or pre-refinement `role` other than "*". */
export function isReserved(r: Resource): boolean {
  if (r.reservations !== undefined && r.reservations.length > 0) return true;
  return r.role !== undefined && r.role !== '*';
}

export class OfferResources {
  private readonly scalars: Record<ScalarName, ScalarSlot[]> = { cpus: [], mem: [], disk: [], gpus: [] };
  private readonly portSlots: PortSlot[] = [];
  /** What is left, per kind, in thousandths (ports: a count). */
  readonly left: Record<ScalarName | 'ports', number> = { cpus: 0, mem: 0, disk: 0, gpus: 0, ports: 0 };

  constructor(resources: readonly Resource[], offerRole: string | undefined) {
    // Reserved entries first (a stable order otherwise): a reservation exists to be used.
    const reserved: Resource[] = [];
    const unreserved: Resource[] = [];
    for (const r of resources) {
      if (usable(r, offerRole)) (isReserved(r) ? reserved : unreserved).push(r);
    }
    for (const r of reserved.length === 0 ? unreserved : reserved.concat(unreserved)) {
      if (r.name === 'ports') {
        if (r.type !== 'RANGES') continue;
        const free = (r.ranges?.range ?? [])
          .map((x): [number, number] => [Number(x.begin), Number(x.end)])
          .filter(([b, e]) => Number.isSafeInteger(b) && Number.isSafeInteger(e) && b <= e)
          .sort((a, b) => a[0] - b[0]);
        if (free.length === 0) continue;
        this.portSlots.push({ source: r, free });
        for (const [b, e] of free) this.left.ports += e - b + 1;
        continue;
      }
      const name = r.name as ScalarName;
      if (!SCALAR_NAMES.includes(name) || r.type !== 'SCALAR') continue;
      const amount = toMilli(r.scalar?.value ?? 0);
      if (!(amount > 0)) continue;
      this.scalars[name].push({ source: r, left: amount });
      this.left[name] += amount;
    }
  }

  fits(total: Readonly<Record<ScalarName | 'ports', number>>): boolean {
    const l = this.left;
    return l.cpus >= total.cpus && l.mem >= total.mem && l.disk >= total.disk && l.gpus >= total.gpus && l.ports >= total.ports;
  }

  /** Takes a worker's share; call only after `fits` said yes. */
  take(needs: Needs): { taskResources: Resource[]; executorResources: Resource[]; ports: Record<string, number> } {
    const taskResources: Resource[] = [];
    this.takeScalar('cpus', needs.taskCpus, taskResources);
    this.takeScalar('mem', needs.taskMem, taskResources);
    this.takeScalar('disk', needs.disk, taskResources);
    this.takeScalar('gpus', needs.gpus, taskResources);
    const ports = this.takePorts(needs.ports, taskResources);
    const executorResources: Resource[] = [];
    this.takeScalar('cpus', needs.executorCpus, executorResources);
    this.takeScalar('mem', needs.executorMem, executorResources);
    return { taskResources, executorResources, ports };
  }

  private takeScalar(name: ScalarName, amount: number, out: Resource[]): void {
    let wanted = amount;
    for (const slot of this.scalars[name]) {
      if (wanted === 0) break;
      if (slot.left === 0) continue;
      const taken = Math.min(slot.left, wanted);
      slot.left -= taken;
      wanted -= taken;
      this.left[name] -= taken;
      out.push({ ...slot.source, scalar: { value: fromMilli(taken) } });
    }
    if (wanted > 0) throw new Error(`offer resources: took more ${name} than were left (short by ${fromMilli(wanted)})`);
  }

  /** Each named port gets the lowest free port, reserved entries first; one echoed entry per offered entry used. */
  private takePorts(names: readonly string[], out: Resource[]): Record<string, number> {
    const assigned: Record<string, number> = {};
    const taken = new Map<PortSlot, number[]>();
    let slotIndex = 0;
    for (const name of names) {
      while (slotIndex < this.portSlots.length && this.portSlots[slotIndex]!.free.length === 0) slotIndex++;
      const slot = this.portSlots[slotIndex];
      if (slot === undefined) throw new Error(`offer resources: no free port left for '${name}'`);
      const first = slot.free[0]!;
      const port = first[0];
      if (first[0] === first[1]) slot.free.shift();
      else first[0] = port + 1;
      this.left.ports -= 1;
      assigned[name] = port;
      const list = taken.get(slot) ?? [];
      list.push(port);
      taken.set(slot, list);
    }
    for (const [slot, ports] of taken) out.push({ ...slot.source, ranges: { range: toRanges(ports) } });
    return assigned;
  }
}

/** Ascending ports to ranges, consecutive ones joined. */
function toRanges(ascending: readonly number[]): { begin: number; end: number }[] {
  const ranges: { begin: number; end: number }[] = [];
  for (const p of ascending) {
    const last = ranges.at(-1);
    if (last !== undefined && last.end === p - 1) last.end = p;
    else ranges.push({ begin: p, end: p });
  }
  return ranges;
}
