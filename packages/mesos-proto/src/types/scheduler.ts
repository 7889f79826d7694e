/**
 * TypeScript shapes of `mesos.v1.scheduler.Call` and `Event` (src/proto/mesos/v1/scheduler).
 * They mirror the proto: `type` names the payload field that should be set, but nothing forces
 * it, because a newer Mesos may send types this schema does not know (decoded without `type`).
 */
import type {
  AgentID, Bytes, ExecutorID, Filters, FrameworkID, FrameworkInfo, InverseOffer, MasterInfo, Offer, OfferID,
  OfferOperation, OperationID, OperationStatus, Request, ResourceProviderID, TaskID,
} from './common.js';
import type { KillPolicy, TaskStatus } from './tasks.js';

export type SchedulerCallType =
  | 'UNKNOWN' | 'SUBSCRIBE' | 'TEARDOWN' | 'ACCEPT' | 'DECLINE' | 'ACCEPT_INVERSE_OFFERS'
  | 'DECLINE_INVERSE_OFFERS' | 'REVIVE' | 'KILL' | 'SHUTDOWN' | 'ACKNOWLEDGE' | 'ACKNOWLEDGE_OPERATION_STATUS'
  | 'RECONCILE' | 'RECONCILE_OPERATIONS' | 'MESSAGE' | 'REQUEST' | 'SUPPRESS' | 'UPDATE_FRAMEWORK';

export type PseudoattributeType = 'UNKNOWN' | 'HOSTNAME' | 'REGION' | 'ZONE';

export interface AttributeConstraint {
  /** `pseudoattribute_type` and `attribute_name` are alternatives. */
  selector?: { pseudoattribute_type?: PseudoattributeType; attribute_name?: string };
  /** Exactly one of the predicates. */
  predicate?: {
    exists?: Record<string, never>;
    not_exists?: Record<string, never>;
    text_equals?: { value?: string };
    text_not_equals?: { value?: string };
    text_matches?: { regex?: string };
    text_not_matches?: { regex?: string };
  };
}

export interface OfferConstraints {
  role_constraints?: Record<string, { groups?: { attribute_constraints?: AttributeConstraint[] }[] }>;
}

export interface SchedulerCallSubscribe {
  framework_info: FrameworkInfo;
  suppressed_roles?: string[];
  offer_constraints?: OfferConstraints;
}

export interface SchedulerCall {
  /** Unset only on a new framework's first SUBSCRIBE. */
  framework_id?: FrameworkID;
  type?: SchedulerCallType;
  subscribe?: SchedulerCallSubscribe;
  accept?: { offer_ids?: OfferID[]; operations?: OfferOperation[]; filters?: Filters };
  decline?: { offer_ids?: OfferID[]; filters?: Filters };
  accept_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  decline_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  /** Empty roles: every subscribed role. */
  revive?: { roles?: string[] };
  kill?: { task_id: TaskID; agent_id?: AgentID; kill_policy?: KillPolicy };
  shutdown?: { executor_id: ExecutorID; agent_id: AgentID };
  /** `uuid` is the 16 raw bytes from the update's TaskStatus. */
  acknowledge?: { agent_id: AgentID; task_id: TaskID; uuid: Bytes };
  acknowledge_operation_status?: { agent_id?: AgentID; resource_provider_id?: ResourceProviderID; uuid: Bytes; operation_id: OperationID };
  /** No tasks: implicit reconciliation. */
  reconcile?: { tasks?: { task_id: TaskID; agent_id?: AgentID }[] };
  reconcile_operations?: { operations?: { operation_id: OperationID; agent_id?: AgentID; resource_provider_id?: ResourceProviderID }[] };
  message?: { agent_id: AgentID; executor_id: ExecutorID; data: Bytes };
  request?: { requests?: Request[] };
  suppress?: { roles?: string[] };
  update_framework?: SchedulerCallSubscribe;
}

export type SchedulerEventType =
  | 'UNKNOWN' | 'SUBSCRIBED' | 'OFFERS' | 'INVERSE_OFFERS' | 'RESCIND' | 'RESCIND_INVERSE_OFFER' | 'UPDATE'
  | 'UPDATE_OPERATION_STATUS' | 'MESSAGE' | 'FAILURE' | 'ERROR' | 'HEARTBEAT';

export interface SchedulerEvent {
  type?: SchedulerEventType;
  subscribed?: { framework_id: FrameworkID; heartbeat_interval_seconds?: number; master_info?: MasterInfo };
  offers?: { offers?: Offer[] };
  inverse_offers?: { inverse_offers?: InverseOffer[] };
  rescind?: { offer_id: OfferID };
  rescind_inverse_offer?: { inverse_offer_id: OfferID };
  update?: { status: TaskStatus };
  update_operation_status?: { status: OperationStatus };
  message?: { agent_id: AgentID; executor_id: ExecutorID; data: Bytes };
  /** `status` is the raw wait status of an exited custom executor. */
  failure?: { agent_id?: AgentID; executor_id?: ExecutorID; status?: number };
  error?: { message: string };
}
