/**
 * The fake cluster's shared state: options, frameworks, agents, executors, tasks and offers, the
 * log of calls received, and the change signal `waitFor` listens to. Every master (leader or
 * not) and every agent of one fake reads and writes this one object, so a master failover keeps
 * what a real Mesos would recover from its registry and its agents.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type {
  Attribute, DomainInfo, ExecutorCall, ExecutorInfo, FrameworkInfo, SchedulerCall, SchedulerEvent, TaskInfo, TaskState,
  TaskStatus,
} from '@sluice/mesos-proto';
import type { Res } from './resources.js';
import type { EventStream } from './http-util.js';

export interface FakeAgentOptions {
  /** Mesos `--resources` syntax. Default `cpus:4;mem:4096;disk:10000;ports:[31000-31999]`. */
  resources?: string;
  /** Mesos `--attributes` syntax, e.g. `rack:r1;zone:z`. */
  attributes?: string;
  domain?: { region: string; zone: string };
  /** AgentInfo.hostname; default the agent's own loopback address 127.0.0.N. */
  hostname?: string;
}

export interface MesosClusterOptions {
  masters?: 1 | 2 | 3;
  /** Agents listen on 127.<this>.0.2, .3, …; default a random network in 1..254 per cluster. */
  loopbackNetwork?: number;
  agents?: FakeAgentOptions[];
  /** SUBSCRIBED.heartbeat_interval_seconds and the HEARTBEAT period. Default 15. */
  heartbeatIntervalSeconds?: number;
  /** `--offer_timeout`: offers outstanding longer are rescinded. Default: none. */
  offerTimeoutMs?: number;
  /** Period of the allocator's batch run (expired filters, freed resources). Default 1000 (Mesos: 1 s). */
  allocationIntervalMs?: number;
  /** `--authenticate_http_frameworks` with one credential. */
  authenticate?: { principal: string; secret: string };
  /** First retry of an unacknowledged status update; doubles up to 60×. Default 10000 (Mesos: 10 s). */
  statusUpdateRetryMs?: number;
  /** `--executor_registration_timeout`. Default 60000. */
  executorRegistrationTimeoutMs?: number;
  /** `--executor_reregistration_timeout` after an agent restart (MESOS_SUBSCRIPTION_BACKOFF_MAX). Default 2000. */
  executorReregistrationTimeoutMs?: number;
  /** `--recovery_timeout` as given to executors (MESOS_RECOVERY_TIMEOUT). Default 900000 (15mins). */
  recoveryTimeoutMs?: number;
  /** `--executor_shutdown_grace_period` when ExecutorInfo has none. Default 5000. */
  executorShutdownGracePeriodMs?: number;
  /** `--authenticate_http_executors`: executors get MESOS_EXECUTOR_AUTHENTICATION_TOKEN and must send it. */
  executorAuthentication?: boolean;
  /** How long a newly elected master answers 503 "Master has not finished recovery". Default 200. */
  recoveringMs?: number;
  /** Added to every executor's environment (the agent's own environment is always passed). */
  agentEnv?: Record<string, string>;
  /**
   * Container images the fake may "run": it cannot start containers, so an executor with a
   * ContainerInfo runs on the host only when its image is registered here (`rootfs` and `env`
   * are exported to it); any other image fails the task with REASON_CONTAINER_LAUNCH_FAILED.
   */
  images?: Record<string, { rootfs?: string; env?: Record<string, string> }>;
  /**
   * `--docker_registry`: an absolute directory of image tarballs (`<repository>:<tag>.tar`, the
   * legacy `docker save` layout). An executor whose ContainerInfo (type MESOS) names an image
   * not in `images` runs inside that image's rootfs, as the Mesos containerizer runs it (root only).
   */
  dockerRegistry?: string;
}

export type ResolvedOptions = Required<Omit<MesosClusterOptions, 'authenticate' | 'offerTimeoutMs' | 'agents' | 'loopbackNetwork' | 'dockerRegistry'>> & {
  authenticate: { principal: string; secret: string } | undefined;
  offerTimeoutMs: number | undefined;
  dockerRegistry: string | undefined;
};

export interface FakeFramework {
  id: string;
  info: FrameworkInfo;
  capabilities: Set<string>;
  roles: string[];
  stream: EventStream | undefined;
  streamId: string | undefined;
  suppressedRoles: Set<string>;
  /** `${role}\n${agentId}` → resources of that agent refused to that role until an epoch ms. */
  filters: Map<string, { until: number; resources: Res[] }>;
  disconnectedAt: number | undefined;
  failoverTimer: NodeJS.Timeout | undefined;
  registeredAt: number;
  /** Streams this framework has opened, in order (for inspection). */
  streamIds: string[];
}

export interface FakeOffer {
  id: string;
  frameworkId: string;
  agentId: string;
  role: string;
  resources: Res[];
  timer: NodeJS.Timeout | undefined;
}

export interface FakeTask {
  taskId: string;
  frameworkId: string;
  agentId: string;
  executorId: string | undefined;
  info: TaskInfo;
  resources: Res[];
  /** The latest state the master knows. */
  state: TaskState;
  /** Every status the master sent to the scheduler for this task, in order. */
  statuses: TaskStatus[];
  /** Every state the task went through (master's view), in order. */
  history: TaskState[];
}

export interface PendingUpdate {
  status: TaskStatus;
  frameworkId: string;
}

export type ExecutorPhase = 'launching' | 'registering' | 'running' | 'terminating' | 'terminated';

export interface FakeExecutor {
  frameworkId: string;
  executorId: string;
  agentId: string;
  info: ExecutorInfo;
  resources: Res[];
  containerId: string;
  sandbox: string;
  /** The provisioned root filesystem of an executor run in a container image (removed when it ends). */
  rootfs: string | undefined;
  process: ChildProcess | undefined;
  pid: number | undefined;
  phase: ExecutorPhase;
  stream: EventStream | undefined;
  /** Tasks received from the master but not yet sent to the executor (no subscription yet). */
  queued: TaskInfo[];
  /** Tasks sent to the executor (task id → info), live until terminal. */
  launched: Map<string, TaskInfo>;
  /** The agent's view of each of its tasks' state (STAGING until the executor's first update). */
  taskStates: Map<string, TaskState>;
  /** Tasks the scheduler asked to kill (reported TASK_KILLED if the executor dies first). */
  killRequested: Set<string>;
  /** Why the agent is destroying the executor, if it is (becomes the tasks' reason). */
  destroyReason: { reason: NonNullable<TaskStatus['reason']>; message: string } | undefined;
  /** Status update uuids (base64) already accepted from the executor. */
  seenUuids: Set<string>;
  token: string | undefined;
  timers: Set<NodeJS.Timeout>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process has exited (or immediately when it never started). */
  exited: Promise<void>;
}

export interface FakeAgentState {
  id: string;
  index: number;
  /** The agent's loopback address, 127.0.0.N. */
  ip: string;
  hostname: string;
  port: number;
  total: Res[];
  attributes: Attribute[];
  domain: DomainInfo | undefined;
  /** The master cannot reach it (fault). */
  partitioned: boolean;
  /** Its HTTP server is down (agent restart in progress). */
  down: boolean;
  /** After a restart, until executors had their chance to resubscribe. */
  recovering: boolean;
  executors: Map<string, FakeExecutor>;
  /** Per task (`frameworkId/taskId`): updates not yet acknowledged by the scheduler, head first. */
  updates: Map<string, PendingUpdate[]>;
  updateTimers: Map<string, NodeJS.Timeout>;
}

export interface ReceivedCall {
  api: 'scheduler' | 'executor';
  /** Which master (index) or agent (id) received it. */
  at: string;
  encoding: 'json' | 'protobuf';
  call: SchedulerCall | ExecutorCall;
  /** The HTTP status answered. */
  status: number;
}

export interface SentEvent {
  frameworkId: string;
  event: SchedulerEvent;
}

export const executorKey = (frameworkId: string, executorId: string): string => `${frameworkId}/${executorId}`;
export const taskKey = (frameworkId: string, taskId: string): string => `${frameworkId}/${taskId}`;

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_LOST']);
/** States only PARTITION_AWARE frameworks see; others get TASK_LOST. */
export const PARTITION_STATES: ReadonlySet<TaskState> = new Set(['TASK_DROPPED', 'TASK_UNREACHABLE', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN']);

export class ClusterState {
  readonly masterId: string;
  readonly frameworks = new Map<string, FakeFramework>();
  /** Frameworks removed (TEARDOWN, failover timeout): a later SUBSCRIBE with the id gets ERROR. */
  readonly removedFrameworks = new Set<string>();
  readonly agents: FakeAgentState[] = [];
  readonly tasks = new Map<string, FakeTask>();
  readonly completedTasks: FakeTask[] = [];
  /** Every executor ever launched, in order (terminated ones stay here for inspection). */
  readonly executorLog: FakeExecutor[] = [];
  /** Scratch directory holding every sandbox; removed on stop. */
  workDir = '';
  readonly offers = new Map<string, FakeOffer>();
  readonly calls: ReceivedCall[] = [];
  readonly events: SentEvent[] = [];
  readonly changes = new EventEmitter();
  leader: number | undefined = 0;
  /** Until this epoch ms the leader answers 503 "Master has not finished recovery". */
  recoveringUntil = 0;
  dropFrameworkMessages = false;
  stopped = false;
  readonly startedAt = Date.now();
  private nextFramework = 0;
  private nextOffer = 0;
  private nextAgent = 0;

  constructor(readonly options: ResolvedOptions) {
    this.masterId = randomId();
    this.changes.setMaxListeners(0);
  }

  frameworkId(): string {
    return `${this.masterId}-${String(this.nextFramework++).padStart(4, '0')}`;
  }

  offerId(): string {
    return `${this.masterId}-O${this.nextOffer++}`;
  }

  agentId(): string {
    return `${this.masterId}-S${this.nextAgent++}`;
  }

  agent(agentId: string): FakeAgentState | undefined {
    return this.agents.find((a) => a.id === agentId);
  }

  /** Tells waiters something changed; called after every state change. */
  changed(): void {
    this.changes.emit('change');
  }

  recordTaskState(task: FakeTask, state: TaskState): void {
    task.state = state;
    task.history.push(state);
  }
}

export function randomId(): string {
  return crypto.randomUUID();
}

export function hasCapability(framework: FakeFramework, capability: string): boolean {
  return framework.capabilities.has(capability);
}

/** Mesos's Duration rendering (largest unit with a value ≥ 1): `5secs`, `15mins`, `1.5secs`, `500ms`. */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [['weeks', 604_800_000], ['days', 86_400_000], ['hrs', 3_600_000], ['mins', 60_000], ['secs', 1000], ['ms', 1], ['us', 0.001], ['ns', 0.000001]];
  for (const [unit, size] of units) {
    if (ms >= size) return `${Number((ms / size).toPrecision(15))}${unit}`;
  }
  return '0ns';
}

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

export type FrameworkInfoWithId = FrameworkInfo & { id: { value: string } };
