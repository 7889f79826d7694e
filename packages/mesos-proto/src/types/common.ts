/**
 * TypeScript shapes of the `mesos.v1` messages in src/proto/mesos/v1/mesos.proto: identifiers,
 * values, resources, frameworks, masters, agents and offers. Field names are the .proto names;
 * required fields are non-optional; repeated fields are arrays, map fields records; enums are
 * their value names.
 */
import type { ExecutorInfo, TaskInfo, TaskGroupInfo, Volume } from './tasks.js';

/** int64/uint64: a number when it is a safe integer, otherwise a decimal string (also accepted on input: bigint). */
export type Int64 = number | string;
/** bytes: any Uint8Array on input, a Buffer when decoded. JSON carries them as base64. */
export type Bytes = Uint8Array;

export interface FrameworkID { value: string }
export interface OfferID { value: string }
export interface AgentID { value: string }
export interface TaskID { value: string }
export interface ExecutorID { value: string }
export interface ResourceProviderID { value: string }
export interface OperationID { value: string }
export interface ContainerID { value: string; parent?: ContainerID }

export interface TimeInfo { nanoseconds: Int64 }
export interface DurationInfo { nanoseconds: Int64 }

export interface Address { hostname?: string; ip?: string; port: number }

export interface URL { scheme: string; address: Address; path?: string; query?: Parameter[]; fragment?: string }

export interface Unavailability { start: TimeInfo; duration?: DurationInfo }

export interface UUID { value: Bytes }

export interface Label { key: string; value?: string }
export interface Labels { labels?: Label[] }

export interface Parameter { key: string; value: string }
export interface Parameters { parameter?: Parameter[] }

export interface Credential { principal: string; secret?: string }
export interface Credentials { credentials?: Credential[] }

export type SecretType = 'UNKNOWN' | 'REFERENCE' | 'VALUE';
export interface Secret {
  type?: SecretType;
  reference?: { name: string; key?: string };
  value?: { data: Bytes };
}

// --- frameworks, masters, agents, domains ---------------------------------------------------

export type FrameworkCapabilityType =
  | 'UNKNOWN' | 'REVOCABLE_RESOURCES' | 'TASK_KILLING_STATE' | 'GPU_RESOURCES' | 'SHARED_RESOURCES'
  | 'PARTITION_AWARE' | 'MULTI_ROLE' | 'RESERVATION_REFINEMENT' | 'REGION_AWARE';

export interface FrameworkInfo {
  user: string;
  name: string;
  id?: FrameworkID;
  failover_timeout?: number;
  checkpoint?: boolean;
  /** Deprecated; must not be set with MULTI_ROLE (use `roles`). */
  role?: string;
  roles?: string[];
  hostname?: string;
  principal?: string;
  webui_url?: string;
  capabilities?: { type?: FrameworkCapabilityType }[];
  labels?: Labels;
  offer_filters?: Record<string, OfferFilters>;
}

export interface OfferFilters {
  min_allocatable_resources?: { quantities?: { quantities?: Record<string, ValueScalar> }[] };
}

export interface DomainInfo {
  fault_domain?: { region: { name: string }; zone: { name: string } };
}

export type MasterCapabilityType = 'UNKNOWN' | 'AGENT_UPDATE' | 'AGENT_DRAINING' | 'QUOTA_V2';

export interface MasterInfo {
  id: string;
  /** IPv4 in network byte order; prefer `address`. */
  ip: number;
  port: number;
  pid?: string;
  hostname?: string;
  version?: string;
  address?: Address;
  domain?: DomainInfo;
  capabilities?: { type?: MasterCapabilityType }[];
}

export interface AgentInfo {
  hostname: string;
  port?: number;
  resources?: Resource[];
  attributes?: Attribute[];
  id?: AgentID;
  domain?: DomainInfo;
}

// --- values, attributes, resources ----------------------------------------------------------

export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT';
export interface ValueScalar { value: number }
export interface ValueRange { begin: Int64; end: Int64 }
export interface ValueRanges { range?: ValueRange[] }
export interface ValueSet { item?: string[] }
export interface ValueText { value: string }

export interface Value {
  type: ValueType;
  scalar?: ValueScalar;
  ranges?: ValueRanges;
  set?: ValueSet;
  text?: ValueText;
}

export interface Attribute {
  name: string;
  type: ValueType;
  scalar?: ValueScalar;
  ranges?: ValueRanges;
  set?: ValueSet;
  text?: ValueText;
}

export type ReservationType = 'UNKNOWN' | 'STATIC' | 'DYNAMIC';

export interface ReservationInfo {
  type?: ReservationType;
  role?: string;
  principal?: string;
  labels?: Labels;
}

export type DiskSourceType = 'UNKNOWN' | 'PATH' | 'MOUNT' | 'BLOCK' | 'RAW';

export interface DiskInfo {
  persistence?: { id: string; principal?: string };
  volume?: Volume;
  source?: {
    type: DiskSourceType;
    path?: { root?: string };
    mount?: { root?: string };
    vendor?: string;
    id?: string;
    metadata?: Labels;
    profile?: string;
  };
}

/** An offered resource is echoed back exactly: copy it and shrink only scalar/ranges/set. */
export interface Resource {
  provider_id?: ResourceProviderID;
  name: string;
  type: ValueType;
  scalar?: ValueScalar;
  ranges?: ValueRanges;
  set?: ValueSet;
  /** Pre-refinement format only ("*" = unreserved). */
  role?: string;
  allocation_info?: { role?: string };
  /** Pre-refinement form of a dynamic reservation. */
  reservation?: ReservationInfo;
  /** Post-refinement form: empty = unreserved; each entry refines the one before. */
  reservations?: ReservationInfo[];
  disk?: DiskInfo;
  revocable?: Record<string, never>;
  shared?: Record<string, never>;
}

export interface Request { agent_id?: AgentID; resources?: Resource[] }

// --- offers and operations ------------------------------------------------------------------

export interface Offer {
  id: OfferID;
  framework_id: FrameworkID;
  agent_id: AgentID;
  hostname: string;
  url?: URL;
  domain?: DomainInfo;
  resources?: Resource[];
  attributes?: Attribute[];
  executor_ids?: ExecutorID[];
  unavailability?: Unavailability;
  allocation_info?: { role?: string };
}

export type OfferOperationType =
  | 'UNKNOWN' | 'LAUNCH' | 'LAUNCH_GROUP' | 'RESERVE' | 'UNRESERVE' | 'CREATE' | 'DESTROY'
  | 'GROW_VOLUME' | 'SHRINK_VOLUME' | 'CREATE_DISK' | 'DESTROY_DISK';

export interface OfferOperation {
  type?: OfferOperationType;
  /** Requests operation feedback; not for LAUNCH / LAUNCH_GROUP. */
  id?: OperationID;
  launch?: { task_infos?: TaskInfo[] };
  launch_group?: { executor: ExecutorInfo; task_group: TaskGroupInfo };
  reserve?: { source?: Resource[]; resources?: Resource[] };
  unreserve?: { resources?: Resource[] };
  create?: { volumes?: Resource[] };
  destroy?: { volumes?: Resource[] };
  grow_volume?: { volume: Resource; addition: Resource };
  shrink_volume?: { volume: Resource; subtract: ValueScalar };
  create_disk?: { source: Resource; target_type: DiskSourceType; target_profile?: string };
  destroy_disk?: { source: Resource };
}

export interface InverseOffer {
  id: OfferID;
  url?: URL;
  framework_id: FrameworkID;
  agent_id?: AgentID;
  unavailability: Unavailability;
  resources?: Resource[];
}

export interface Filters { refuse_seconds?: number }

export type OperationState =
  | 'OPERATION_UNSUPPORTED' | 'OPERATION_PENDING' | 'OPERATION_FINISHED' | 'OPERATION_FAILED'
  | 'OPERATION_ERROR' | 'OPERATION_DROPPED' | 'OPERATION_UNREACHABLE' | 'OPERATION_GONE_BY_OPERATOR'
  | 'OPERATION_RECOVERING' | 'OPERATION_UNKNOWN';

export interface OperationStatus {
  operation_id?: OperationID;
  state: OperationState;
  message?: string;
  converted_resources?: Resource[];
  uuid?: UUID;
  agent_id?: AgentID;
  resource_provider_id?: ResourceProviderID;
}
