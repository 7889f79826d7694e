/**
 * The offer matcher's contract (implemented in offers/match.ts): a pure function from the offers
 * in hand, the workers wanted and the workers already placed to placements and the offers to
 * decline. No I/O, no clock: the driver passes everything in.
 */
import type { Offer, Resource } from '@sluice/mesos-proto';

/** What one TaskManager needs. Executor overhead counts against the same offer. */
export interface WorkerProfile {
  /** Names the profile in worker records and metrics. */
  name: string;
  cpus: number;
  memMb: number;
  diskMb: number;
  gpus: number;
  /** Named ports the TaskManager binds, e.g. ['rpc', 'data', 'metrics']; each gets one port from the offer's `ports` ranges. */
  ports: readonly string[];
  /** The executor's own resources (added to the task's when the executor is not running yet). */
  executor: { cpus: number; memMb: number };
}

/** Marathon's operators, on `hostname`, `@hostname`, `@region`, `@zone` or an attribute name. */
export type ConstraintOperator = 'LIKE' | 'UNLIKE' | 'IS' | 'IN' | 'CLUSTER' | 'UNIQUE' | 'MAX_PER' | 'GROUP_BY';

export interface PlacementConstraint {
  field: string;
  operator: ConstraintOperator;
  value?: string;
}

export interface PendingWorker {
  /** The Mesos task id, `taskmanager-<n>`. */
  workerId: string;
  profile: WorkerProfile;
}

/** A worker placed earlier (launched or running), for UNIQUE / MAX_PER / CLUSTER / GROUP_BY. */
export interface PlacedWorker {
  workerId: string;
  agentId: string;
  hostname: string;
  /** Attribute values stringified as the constraints compare them (see offers/attributes.ts). */
  attributes: Readonly<Record<string, string>>;
  region?: string;
  zone?: string;
}

export interface MatchInput {
  offers: readonly Offer[];
  pending: readonly PendingWorker[];
  placed: readonly PlacedWorker[];
  constraints: readonly PlacementConstraint[];
  /** The framework's roles; offers for other roles are declined. */
  roles: readonly string[];
}

export interface Placement {
  workerId: string;
  offerId: string;
  agentId: string;
  hostname: string;
  /** Offered Resource entries echoed field for field with only scalar/ranges shrunk: the task's. */
  taskResources: Resource[];
  /** The same for the executor's overhead. */
  executorResources: Resource[];
  /** Named port → port number taken from the offer. */
  ports: Record<string, number>;
  /** The placed worker as later matches must see it. */
  placed: PlacedWorker;
}

export interface MatchResult {
  placements: Placement[];
  /** Offers with no placement, to DECLINE (with the driver's refuse filter). */
  unusedOfferIds: string[];
  /** Workers no offer could take, with one reason per worker (for logs and metrics). */
  unplaced: { workerId: string; reason: string }[];
}
