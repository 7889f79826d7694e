/**
 * TypeScript shapes of `mesos.v1.executor.Call` and `Event` (src/proto/mesos/v1/executor).
 * Note the asymmetry kept from Mesos: Call.message.data is field 2, Event.message.data field 1.
 */
import type { AgentInfo, Bytes, ContainerID, ExecutorID, FrameworkID, FrameworkInfo, TaskID } from './common.js';
import type { ExecutorInfo, KillPolicy, TaskGroupInfo, TaskInfo, TaskStatus } from './tasks.js';

export type ExecutorCallType = 'UNKNOWN' | 'SUBSCRIBE' | 'UPDATE' | 'MESSAGE' | 'HEARTBEAT';

/** The agent requires status.uuid (16 bytes) and status.source = SOURCE_EXECUTOR. */
export interface ExecutorCallUpdate { status: TaskStatus }

export interface ExecutorCall {
  executor_id: ExecutorID;
  framework_id: FrameworkID;
  type?: ExecutorCallType;
  subscribe?: { unacknowledged_tasks?: TaskInfo[]; unacknowledged_updates?: ExecutorCallUpdate[] };
  update?: ExecutorCallUpdate;
  message?: { data: Bytes };
}

export type ExecutorEventType =
  | 'UNKNOWN' | 'SUBSCRIBED' | 'LAUNCH' | 'LAUNCH_GROUP' | 'KILL' | 'ACKNOWLEDGED' | 'MESSAGE' | 'ERROR'
  | 'SHUTDOWN' | 'HEARTBEAT';

export interface ExecutorEvent {
  type?: ExecutorEventType;
  subscribed?: { executor_info: ExecutorInfo; framework_info: FrameworkInfo; agent_info: AgentInfo; container_id?: ContainerID };
  acknowledged?: { task_id: TaskID; uuid: Bytes };
  launch?: { task: TaskInfo };
  launch_group?: { task_group: TaskGroupInfo };
  kill?: { task_id: TaskID; kill_policy?: KillPolicy };
  message?: { data: Bytes };
  error?: { message: string };
}
