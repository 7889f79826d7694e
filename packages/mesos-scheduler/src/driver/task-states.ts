/**
 * What a Mesos task state means to the driver. PARTITION_AWARE frameworks get DROPPED, GONE,
 * GONE_BY_OPERATOR, UNREACHABLE and UNKNOWN instead of LOST; LOST is taken as the end too. An
 * UNREACHABLE task is not over (its agent may come back), so only the ResourceManager's
 * heartbeat decides about its TaskManager.
 */
import type { TaskState, TaskStatus } from '@sluice/mesos-proto';

const TERMINAL: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_LOST',
  // The master knows nothing of the task (explicit reconciliation): it will never run.
  'TASK_UNKNOWN',
]);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

/** `taskmanager-<n>`: the task ids this driver gives out. */
const TASK_ID = /^taskmanager-(\d{1,15})$/;

/** n of `taskmanager-<n>`, or undefined for any other id. */
export function taskNumber(taskId: string): number | undefined {
  const m = TASK_ID.exec(taskId);
  return m === null ? undefined : Number(m[1]);
}

export function taskIdOf(n: number): string {
  return `taskmanager-${n}`;
}

/** One line naming the state, the reason, the source and Mesos's message: the onWorkerTerminated reason. */
export function describeStatus(s: TaskStatus): string {
  const parts: string[] = [s.state];
  if (s.reason !== undefined) parts.push(`(${s.reason})`);
  if (s.source !== undefined) parts.push(`from ${s.source.replace(/^SOURCE_/, '').toLowerCase()}`);
  const text = parts.join(' ');
  return s.message !== undefined && s.message !== '' ? `${text}: ${s.message}` : text;
}
