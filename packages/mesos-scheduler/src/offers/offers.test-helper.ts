/** Builders of offers in the formats a MULTI_ROLE framework receives, for the matcher's tests. */
import type { Attribute, Offer, Resource } from '@sluice/mesos-proto';
import type { PendingWorker, WorkerProfile } from './types.js';

export const ROLE = 'sluice';

/** An unreserved scalar in the post-refinement format, allocated to `ROLE`. */
export function scalar(name: string, value: number, extra: Partial<Resource> = {}): Resource {
  return { name, type: 'SCALAR', scalar: { value }, allocation_info: { role: ROLE }, ...extra };
}

export function portRanges(ranges: [number, number][], extra: Partial<Resource> = {}): Resource {
  return { name: 'ports', type: 'RANGES', ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) }, allocation_info: { role: ROLE }, ...extra };
}

export const STATIC: Partial<Resource> = { reservations: [{ type: 'STATIC', role: ROLE }] };

export function text(name: string, value: string): Attribute {
  return { name, type: 'TEXT', text: { value } };
}

export interface OfferSpec {
  id: string;
  host?: string;
  agent?: string;
  role?: string | null;
  resources: Resource[];
  attributes?: Attribute[];
  zone?: { region: string; zone: string };
}

export function offer(spec: OfferSpec): Offer {
  const role = spec.role === undefined ? ROLE : spec.role;
  return {
    id: { value: spec.id },
    framework_id: { value: 'fw-1' },
    agent_id: { value: spec.agent ?? `agent-${spec.id}` },
    hostname: spec.host ?? `host-${spec.id}`,
    resources: spec.resources,
    ...(spec.attributes === undefined ? {} : { attributes: spec.attributes }),
    ...(spec.zone === undefined ? {} : { domain: { fault_domain: { region: { name: spec.zone.region }, zone: { name: spec.zone.zone } } } }),
    ...(role === null ? {} : { allocation_info: { role } }),
  };
}

/** An offer with room for several default workers. */
export function roomy(id: string, extra: Partial<OfferSpec> = {}): Offer {
  return offer({ id, resources: [scalar('cpus', 8), scalar('mem', 16384), scalar('disk', 10000), portRanges([[31000, 31099]])], ...extra });
}

export const PROFILE: WorkerProfile = {
  name: 'default',
  cpus: 1,
  memMb: 1024,
  diskMb: 0,
  gpus: 0,
  ports: [],
  executor: { cpus: 0.1, memMb: 32 },
};

export function workers(n: number, profile: WorkerProfile = PROFILE, from = 1): PendingWorker[] {
  return Array.from({ length: n }, (_, i) => ({ workerId: `taskmanager-${from + i}`, profile }));
}
