/**
 * TypeScript shapes of the `mesos.v1` task-side messages: tasks, executors, commands, checks,
 * containers and task status. Same conventions as common.ts.
 */
import type {
  AgentID, Bytes, ContainerID, Credential, DurationInfo, ExecutorID, FrameworkID, Int64, Labels, Parameter,
  Parameters, Resource, Secret, TaskID, TimeInfo, ValueScalar,
} from './common.js';

export interface TaskInfo {
  name: string;
  task_id: TaskID;
  agent_id: AgentID;
  resources?: Resource[];
  /** Exactly one of `executor` and `command`. */
  executor?: ExecutorInfo;
  command?: CommandInfo;
  container?: ContainerInfo;
  health_check?: HealthCheck;
  check?: CheckInfo;
  kill_policy?: KillPolicy;
  data?: Bytes;
  labels?: Labels;
  discovery?: DiscoveryInfo;
  max_completion_time?: DurationInfo;
  limits?: Record<string, ValueScalar>;
}

export interface TaskGroupInfo { tasks?: TaskInfo[] }

export type ExecutorType = 'UNKNOWN' | 'DEFAULT' | 'CUSTOM';

export interface ExecutorInfo {
  type?: ExecutorType;
  executor_id: ExecutorID;
  framework_id?: FrameworkID;
  /** Required for a custom executor. */
  command?: CommandInfo;
  container?: ContainerInfo;
  resources?: Resource[];
  name?: string;
  /** Deprecated: use labels. */
  source?: string;
  data?: Bytes;
  discovery?: DiscoveryInfo;
  shutdown_grace_period?: DurationInfo;
  labels?: Labels;
}

export interface CommandURI {
  value: string;
  executable?: boolean;
  /** Absent means true. */
  extract?: boolean;
  cache?: boolean;
  output_file?: string;
}

export interface CommandInfo {
  uris?: CommandURI[];
  environment?: Environment;
  /** Absent means true (`/bin/sh -c value`, arguments ignored). */
  shell?: boolean;
  value?: string;
  arguments?: string[];
  user?: string;
}

export type EnvironmentVariableType = 'UNKNOWN' | 'VALUE' | 'SECRET';

export interface Environment {
  variables?: { name: string; type?: EnvironmentVariableType; value?: string; secret?: Secret }[];
}

export interface KillPolicy { grace_period?: DurationInfo }

export type CheckType = 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP';

export interface CheckInfo {
  type?: CheckType;
  command?: { command: CommandInfo };
  http?: { port: number; path?: string };
  tcp?: { port: number };
  delay_seconds?: number;
  interval_seconds?: number;
  timeout_seconds?: number;
}

export type NetworkProtocol = 'IPv4' | 'IPv6';

export interface HealthCheck {
  delay_seconds?: number;
  interval_seconds?: number;
  timeout_seconds?: number;
  consecutive_failures?: number;
  grace_period_seconds?: number;
  type?: CheckType;
  command?: CommandInfo;
  http?: { protocol?: NetworkProtocol; scheme?: string; port: number; path?: string; statuses?: number[] };
  tcp?: { protocol?: NetworkProtocol; port: number };
}

export type DiscoveryVisibility = 'FRAMEWORK' | 'CLUSTER' | 'EXTERNAL';

export interface Port { number: number; name?: string; protocol?: string; visibility?: DiscoveryVisibility; labels?: Labels }

export interface DiscoveryInfo {
  visibility: DiscoveryVisibility;
  name?: string;
  environment?: string;
  location?: string;
  version?: string;
  ports?: { ports?: Port[] };
  labels?: Labels;
}

// --- task status ----------------------------------------------------------------------------

export type TaskState =
  | 'TASK_STAGING' | 'TASK_STARTING' | 'TASK_RUNNING' | 'TASK_KILLING' | 'TASK_FINISHED' | 'TASK_FAILED'
  | 'TASK_KILLED' | 'TASK_ERROR' | 'TASK_LOST' | 'TASK_DROPPED' | 'TASK_UNREACHABLE' | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR' | 'TASK_UNKNOWN';

export type TaskStatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

export type TaskStatusReason =
  | 'REASON_COMMAND_EXECUTOR_FAILED' | 'REASON_CONTAINER_LAUNCH_FAILED' | 'REASON_CONTAINER_LIMITATION'
  | 'REASON_CONTAINER_LIMITATION_DISK' | 'REASON_CONTAINER_LIMITATION_MEMORY' | 'REASON_CONTAINER_PREEMPTED'
  | 'REASON_CONTAINER_UPDATE_FAILED' | 'REASON_MAX_COMPLETION_TIME_REACHED' | 'REASON_EXECUTOR_REGISTRATION_TIMEOUT'
  | 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT' | 'REASON_EXECUTOR_TERMINATED' | 'REASON_EXECUTOR_UNREGISTERED'
  | 'REASON_FRAMEWORK_REMOVED' | 'REASON_GC_ERROR' | 'REASON_INVALID_FRAMEWORKID' | 'REASON_INVALID_OFFERS'
  | 'REASON_IO_SWITCHBOARD_EXITED' | 'REASON_MASTER_DISCONNECTED' | 'REASON_RECONCILIATION'
  | 'REASON_RESOURCES_UNKNOWN' | 'REASON_AGENT_DISCONNECTED' | 'REASON_AGENT_DRAINING' | 'REASON_AGENT_REMOVED'
  | 'REASON_AGENT_REMOVED_BY_OPERATOR' | 'REASON_AGENT_REREGISTERED' | 'REASON_AGENT_RESTARTED'
  | 'REASON_AGENT_UNKNOWN' | 'REASON_TASK_KILLED_DURING_LAUNCH' | 'REASON_TASK_CHECK_STATUS_UPDATED'
  | 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' | 'REASON_TASK_GROUP_INVALID' | 'REASON_TASK_GROUP_UNAUTHORIZED'
  | 'REASON_TASK_INVALID' | 'REASON_TASK_UNAUTHORIZED' | 'REASON_TASK_UNKNOWN';

export interface CheckStatusInfo {
  type?: CheckType;
  command?: { exit_code?: number };
  http?: { status_code?: number };
  tcp?: { succeeded?: boolean };
}

export interface TaskStatus {
  task_id: TaskID;
  state: TaskState;
  message?: string;
  source?: TaskStatusSource;
  reason?: TaskStatusReason;
  data?: Bytes;
  agent_id?: AgentID;
  executor_id?: ExecutorID;
  /** Seconds since the epoch. */
  timestamp?: number;
  /** 16 raw UUID bytes on updates that must be acknowledged; absent on reconciliation answers. */
  uuid?: Bytes;
  healthy?: boolean;
  check_status?: CheckStatusInfo;
  labels?: Labels;
  container_status?: ContainerStatus;
  unreachable_time?: TimeInfo;
  limitation?: { resources?: Resource[] };
}

// --- containers -----------------------------------------------------------------------------

export type ImageType = 'APPC' | 'DOCKER';

export interface Image {
  type: ImageType;
  appc?: { name: string; id?: string; labels?: Labels };
  docker?: { name: string; /** Deprecated: use config. */ credential?: Credential; config?: Secret };
  /** Absent means true. */
  cached?: boolean;
}

export type MountPropagationMode = 'UNKNOWN' | 'HOST_TO_CONTAINER' | 'BIDIRECTIONAL';
export type VolumeMode = 'RW' | 'RO';
export type VolumeSourceType = 'UNKNOWN' | 'DOCKER_VOLUME' | 'HOST_PATH' | 'SANDBOX_PATH' | 'SECRET' | 'CSI_VOLUME';
export type CsiAccessMode =
  | 'UNKNOWN' | 'SINGLE_NODE_WRITER' | 'SINGLE_NODE_READER_ONLY' | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER' | 'MULTI_NODE_MULTI_WRITER';

export interface CsiVolumeCapability {
  /** `block` and `mount` are alternatives. */
  block?: Record<string, never>;
  mount?: { fs_type?: string; mount_flags?: string[] };
  access_mode: { mode: CsiAccessMode };
}

export interface VolumeSource {
  type?: VolumeSourceType;
  docker_volume?: { driver?: string; name: string; driver_options?: Parameters };
  host_path?: { path: string; mount_propagation?: { mode?: MountPropagationMode } };
  sandbox_path?: { type?: 'UNKNOWN' | 'SELF' | 'PARENT'; path: string };
  secret?: Secret;
  csi_volume?: {
    plugin_name: string;
    static_provisioning?: {
      volume_id: string;
      volume_capability: CsiVolumeCapability;
      node_stage_secrets?: Record<string, Secret>;
      node_publish_secrets?: Record<string, Secret>;
      volume_context?: Record<string, string>;
    };
  };
}

export interface Volume {
  mode: VolumeMode;
  container_path: string;
  host_path?: string;
  image?: Image;
  source?: VolumeSource;
}

export interface NetworkInfo {
  ip_addresses?: { protocol?: NetworkProtocol; ip_address?: string }[];
  name?: string;
  groups?: string[];
  labels?: Labels;
  port_mappings?: { host_port: number; container_port: number; protocol?: string }[];
}

/** Linux capability names (CHOWN, NET_ADMIN, SYS_ADMIN, …) as in CapabilityInfo.Capability. */
export type LinuxCapability = string;

export interface LinuxInfo {
  /** Deprecated: use effective_capabilities. */
  capability_info?: { capabilities?: LinuxCapability[] };
  bounding_capabilities?: { capabilities?: LinuxCapability[] };
  effective_capabilities?: { capabilities?: LinuxCapability[] };
  share_pid_namespace?: boolean;
  seccomp?: { profile_name?: string; unconfined?: boolean };
  ipc_mode?: 'UNKNOWN' | 'PRIVATE' | 'SHARE_PARENT';
  shm_size?: number;
  share_cgroups?: boolean;
}

export interface RLimit {
  /** RLMT_AS, RLMT_CORE, …, RLMT_STACK as in RLimitInfo.RLimit.Type. */
  type?: string;
  hard?: Int64;
  soft?: Int64;
}

export type DockerNetwork = 'HOST' | 'BRIDGE' | 'NONE' | 'USER';

export interface DockerInfo {
  image: string;
  /** Absent means HOST. */
  network?: DockerNetwork;
  port_mappings?: { host_port: number; container_port: number; protocol?: string }[];
  privileged?: boolean;
  parameters?: Parameter[];
  force_pull_image?: boolean;
  /** Deprecated. */
  volume_driver?: string;
}

export type ContainerType = 'DOCKER' | 'MESOS';

export interface ContainerInfo {
  type: ContainerType;
  volumes?: Volume[];
  hostname?: string;
  docker?: DockerInfo;
  mesos?: { image?: Image };
  network_infos?: NetworkInfo[];
  linux_info?: LinuxInfo;
  rlimit_info?: { rlimits?: RLimit[] };
  tty_info?: { window_size?: { rows: number; columns: number } };
}

export interface ContainerStatus {
  container_id?: ContainerID;
  network_infos?: NetworkInfo[];
  cgroup_info?: { net_cls?: { classid?: number } };
  executor_pid?: number;
}
