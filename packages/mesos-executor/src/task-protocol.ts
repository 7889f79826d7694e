/**
 * What the `mesos` ClusterDriver and Sluice's executor tell each other, outside Mesos's own
 * fields: the TaskManager's configuration in `TaskInfo.data`, and the executor's reports in
 * framework messages (executor `Call.MESSAGE.data` → scheduler `Event.MESSAGE.data`). Both are
 * versioned JSON so a scheduler and executor of different Sluice versions fail clearly.
 *
 * `TaskInfo.data` carries the cluster secret: Mesos does not show a task's `data` in its state
 * endpoints (unlike the command's environment), and the executor writes it to a 0600 file in
 * the sandbox for the TaskManager's `--secret-file`.
 */
import { SluiceError } from '@sluice/common';

export const TASK_PROTOCOL_VERSION = 1;

/** The TaskManager a Mesos task runs (`TaskInfo.data`). */
export interface TaskManagerLaunch {
  v: typeof TASK_PROTOCOL_VERSION;
  /**
   * The ResourceManager's worker id, which the TaskManager registers under. It is not the Mesos
   * task id (`taskmanager-<n>`, the driver's): reports name the task by `TaskInfo.task_id`.
   */
  resourceId: string;
  /** `sluice://host:port` of the leading entrypoint (absent with `ha`). */
  cluster?: string;
  /** With high availability the TaskManager finds the leader itself: the `--ha-*` flags' values. */
  ha?: Record<string, string>;
  /** The cluster secret, written by the executor to a private file in the sandbox. */
  secret: string;
  slots: number;
  /** Ports taken from the offer; the TaskManager binds them. */
  ports: { rpc: number; data: number; metrics: number };
  /** Interface the TaskManager binds (the scheduler's default: the agent's hostname) and the host others dial (the agent's hostname). */
  bindHost: string;
  advertisedHost: string;
  /** Worker threads, default from the slots. */
  workerThreads?: number;
  /** Extra TaskManager flags, e.g. TLS files fetched into the sandbox. */
  extraArgs?: string[];
}

/** What the executor reports about its TaskManager (framework message, best effort). */
export interface TaskManagerReport {
  v: typeof TASK_PROTOCOL_VERSION;
  kind: 'taskmanager-report';
  taskId: string;
  /** `registered` once the TaskManager registered at the ResourceManager; `exited` when its process ended. */
  phase: 'starting' | 'registered' | 'exited';
  slots: { total: number; free: number };
  /** `host:port` of the TaskManager's /metrics, for the scheduler's http_sd. */
  metricsAddress?: string;
  /** A small summary: numbers only (e.g. records in/out per second, heap bytes). */
  metrics: Record<string, number>;
  /** Milliseconds since the epoch at the executor. */
  at: number;
}

export class TaskProtocolError extends SluiceError {
  constructor(message: string) {
    super('MESOS_TASK_PROTOCOL', message);
    this.name = 'TaskProtocolError';
  }
}

export function encodeTaskManagerLaunch(launch: TaskManagerLaunch): Buffer {
  return Buffer.from(JSON.stringify(launch), 'utf8');
}

export function encodeTaskManagerReport(report: TaskManagerReport): Buffer {
  return Buffer.from(JSON.stringify(report), 'utf8');
}

function parseVersioned(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new TaskProtocolError(`${what} is not JSON (${(err as Error).message}); scheduler and executor must be the same Sluice version`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TaskProtocolError(`${what} is not a JSON object`);
  const v = (value as Record<string, unknown>).v;
  if (v !== TASK_PROTOCOL_VERSION) {
    throw new TaskProtocolError(`${what} has protocol version ${String(v)}, this Sluice speaks ${TASK_PROTOCOL_VERSION}: run the same Sluice version in the scheduler and the executor image`);
  }
  return value as Record<string, unknown>;
}

/** Reads `TaskInfo.data`; throws TaskProtocolError naming the bad field. */
export function decodeTaskManagerLaunch(bytes: Uint8Array): TaskManagerLaunch {
  const o = parseVersioned(bytes, 'TaskInfo.data');
  const str = (k: string): void => {
    if (typeof o[k] !== 'string' || o[k] === '') throw new TaskProtocolError(`TaskInfo.data.${k} must be a non-empty string`);
  };
  const port = (p: unknown, k: string): void => {
    if (!Number.isInteger(p) || (p as number) < 0 || (p as number) > 65535) throw new TaskProtocolError(`TaskInfo.data.ports.${k} must be a port number`);
  };
  str('resourceId');
  str('secret');
  str('bindHost');
  str('advertisedHost');
  if (o.cluster === undefined && o.ha === undefined) throw new TaskProtocolError('TaskInfo.data needs cluster or ha');
  if (o.cluster !== undefined) str('cluster');
  if (!Number.isInteger(o.slots) || (o.slots as number) < 1) throw new TaskProtocolError('TaskInfo.data.slots must be a positive integer');
  const ports = o.ports as Record<string, unknown> | undefined;
  if (ports === undefined || typeof ports !== 'object') throw new TaskProtocolError('TaskInfo.data.ports is missing');
  for (const k of ['rpc', 'data', 'metrics']) port(ports[k], k);
  if (o.extraArgs !== undefined && (!Array.isArray(o.extraArgs) || o.extraArgs.some((a) => typeof a !== 'string'))) {
    throw new TaskProtocolError('TaskInfo.data.extraArgs must be an array of strings');
  }
  return o as unknown as TaskManagerLaunch;
}

/** Reads a framework message from an executor; throws TaskProtocolError when it is not a report. */
export function decodeTaskManagerReport(bytes: Uint8Array): TaskManagerReport {
  const o = parseVersioned(bytes, 'framework message');
  if (o.kind !== 'taskmanager-report') throw new TaskProtocolError(`framework message of unknown kind '${String(o.kind)}'`);
  if (typeof o.taskId !== 'string') throw new TaskProtocolError('framework message without taskId');
  const slots = o.slots as Record<string, unknown> | undefined;
  if (slots === undefined || !Number.isInteger(slots.total) || !Number.isInteger(slots.free)) throw new TaskProtocolError('framework message without slots.total/free');
  if (o.metrics === null || typeof o.metrics !== 'object') throw new TaskProtocolError('framework message without metrics');
  return o as unknown as TaskManagerReport;
}
