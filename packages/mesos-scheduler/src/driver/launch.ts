/**
 * Pure builders of what the driver sends: the FrameworkInfo of every SUBSCRIBE, and the TaskInfo
 * that launches one TaskManager through Sluice's custom executor from a matcher's placement.
 */
import type { CommandInfo, ContainerInfo, ExecutorInfo, FrameworkCapabilityType, FrameworkInfo, TaskInfo } from '@sluice/mesos-proto';
import { encodeTaskManagerLaunch, TASK_PROTOCOL_VERSION, type TaskManagerLaunch } from '@sluice/mesos-executor';
import type { Placement, WorkerProfile } from '../offers/types.js';
import { DEFAULT_MESOS_DRIVER_OPTIONS, type ExecutorContainer, type ExecutorLaunchSpec, type FrameworkOptions, type TaskManagerLaunchOptions } from './options.js';

const d = DEFAULT_MESOS_DRIVER_OPTIONS;

export function frameworkCapabilities(profile: WorkerProfile): FrameworkCapabilityType[] {
  const caps: FrameworkCapabilityType[] = ['MULTI_ROLE', 'PARTITION_AWARE', 'TASK_KILLING_STATE', 'RESERVATION_REFINEMENT'];
  if (profile.gpus > 0) caps.push('GPU_RESOURCES');
  return caps;
}

/** MULTI_ROLE: `roles`, never the deprecated `role`. `id` only when the framework is known. */
export function buildFrameworkInfo(f: FrameworkOptions, profile: WorkerProfile, frameworkId: string | undefined): FrameworkInfo {
  const info: FrameworkInfo = {
    user: f.user,
    name: f.name ?? d.frameworkName,
    failover_timeout: f.failoverTimeoutSeconds ?? d.failoverTimeoutSeconds,
    checkpoint: f.checkpoint ?? d.checkpoint,
    roles: [...(f.roles ?? d.roles)],
    capabilities: frameworkCapabilities(profile).map((type) => ({ type })),
  };
  if (frameworkId !== undefined) info.id = { value: frameworkId };
  if (f.principal !== undefined) info.principal = f.principal;
  if (f.hostname !== undefined) info.hostname = f.hostname;
  if (f.webuiUrl !== undefined) info.webui_url = f.webuiUrl;
  if (f.labels !== undefined) info.labels = { labels: Object.entries(f.labels).map(([key, value]) => ({ key, value })) };
  return info;
}

/** The executor of a task: one per TaskManager, so its id follows from the task id. */
export function executorIdOf(taskId: string): string {
  return `${taskId}-executor`;
}

function command(spec: ExecutorLaunchSpec): CommandInfo {
  const c: CommandInfo = { value: spec.command };
  // proto2 default shell=true would run `value` through /bin/sh and drop the arguments.
  if (spec.arguments !== undefined) {
    c.shell = false;
    c.arguments = [spec.command, ...spec.arguments];
  }
  if (spec.uris !== undefined && spec.uris.length > 0) {
    c.uris = spec.uris.map((u) => ({
      value: u.value,
      ...(u.executable === undefined ? {} : { executable: u.executable }),
      ...(u.extract === undefined ? {} : { extract: u.extract }),
      ...(u.cache === undefined ? {} : { cache: u.cache }),
      ...(u.outputFile === undefined ? {} : { output_file: u.outputFile }),
    }));
  }
  if (spec.environment !== undefined) {
    c.environment = { variables: Object.entries(spec.environment).map(([name, value]) => ({ name, type: 'VALUE' as const, value })) };
  }
  return c;
}

function container(c: ExecutorContainer): ContainerInfo {
  // The Volume's own host_path: both containerizers take it (the Mesos one through filesystem/linux).
  const volumes = c.volumes === undefined || c.volumes.length === 0 ? {} : { volumes: c.volumes.map((v) => ({ mode: v.mode, container_path: v.containerPath, host_path: v.hostPath })) };
  if (c.type === 'MESOS') {
    return { type: 'MESOS', ...volumes, mesos: { image: { type: 'DOCKER', docker: { name: c.image }, ...(c.forcePull === true ? { cached: false } : {}) } } };
  }
  return {
    type: 'DOCKER',
    ...volumes,
    docker: {
      image: c.image,
      network: 'HOST',
      ...(c.forcePull === undefined ? {} : { force_pull_image: c.forcePull }),
      ...(c.privileged === undefined ? {} : { privileged: c.privileged }),
      ...(c.parameters === undefined ? {} : { parameters: Object.entries(c.parameters).map(([key, value]) => ({ key, value })) }),
    },
  };
}

function nanos(ms: number): number {
  return Math.round(ms * 1e6);
}

export interface TaskLaunchInput {
  taskId: string;
  resourceId: string;
  slots: number;
  frameworkId: string;
  placement: Placement;
  executor: ExecutorLaunchSpec;
  taskManager: TaskManagerLaunchOptions;
}

/** `TaskInfo.data`: the TaskManager of this placement, bound to the ports the matcher took. */
export function taskManagerLaunch(i: TaskLaunchInput): TaskManagerLaunch {
  const p = i.placement.ports;
  const port = (name: string): number => {
    const v = p[name];
    if (v === undefined) throw new Error(`placement of ${i.taskId} lacks the '${name}' port`);
    return v;
  };
  const tm = i.taskManager;
  return {
    v: TASK_PROTOCOL_VERSION,
    resourceId: i.resourceId,
    ...(tm.cluster === undefined ? {} : { cluster: tm.cluster }),
    ...(tm.ha === undefined ? {} : { ha: { ...tm.ha } }),
    secret: tm.secret,
    slots: i.slots,
    ports: { rpc: port('rpc'), data: port('data'), metrics: port('metrics') },
    // Default: only the agent's own address, which is what other hosts dial anyway.
    bindHost: tm.bindHost ?? i.placement.hostname,
    advertisedHost: i.placement.hostname,
    ...(tm.workerThreads === undefined ? {} : { workerThreads: tm.workerThreads }),
    ...(tm.extraArgs === undefined ? {} : { extraArgs: [...tm.extraArgs] }),
  };
}

export function buildTaskInfo(i: TaskLaunchInput): TaskInfo {
  const spec = i.executor;
  const executor: ExecutorInfo = {
    type: 'CUSTOM',
    executor_id: { value: executorIdOf(i.taskId) },
    framework_id: { value: i.frameworkId },
    name: spec.name ?? d.executorName,
    command: command(spec),
    resources: i.placement.executorResources,
    shutdown_grace_period: { nanoseconds: nanos(spec.shutdownGracePeriodMs ?? d.shutdownGracePeriodMs) },
  };
  if (spec.container !== undefined) executor.container = container(spec.container);
  return {
    name: `Sluice TaskManager ${i.taskId}`,
    task_id: { value: i.taskId },
    agent_id: { value: i.placement.agentId },
    resources: i.placement.taskResources,
    executor,
    kill_policy: { grace_period: { nanoseconds: nanos(spec.killGracePeriodMs ?? d.killGracePeriodMs) } },
    data: encodeTaskManagerLaunch(taskManagerLaunch(i)),
    labels: { labels: [{ key: 'sluice.resource-id', value: i.resourceId }] },
    discovery: {
      visibility: 'FRAMEWORK',
      name: i.taskId,
      ports: { ports: Object.entries(i.placement.ports).map(([name, number]) => ({ number, name, protocol: 'tcp' })) },
    },
  };
}
