/**
 * The ExecutionGraph: one Execution per subtask of every JobVertex, with its state and where it
 * runs. Pure data; the JobMaster decides transitions and this class only records them and
 * answers questions about the whole (all finished? which ones still run on a TaskManager?).
 */
import { randomId } from '@sluice/common';
import { TERMINAL_EXECUTION_STATES, type ExecutionState, type JobGraph, type JobVertex, type OperatorRecordCounts, type TaskManagerLocation } from '@sluice/protocol';
import type { SerializedError } from '@sluice/common';

export interface LogicalSlot {
  allocationId: string;
  resourceId: string;
  taskManagerAddress: string;
  /** Where the TaskManager's data exchange listens, when it has one of its own. */
  location?: TaskManagerLocation;
}

export interface Execution {
  readonly executionId: string;
  readonly vertex: JobVertex;
  readonly subtaskIndex: number;
  /** Index of the shared slot it runs in: subtask i of every vertex shares slot i. */
  readonly slotIndex: number;
  state: ExecutionState;
  slot?: LogicalSlot;
  operators?: OperatorRecordCounts[];
  error?: SerializedError;
}

/** States in which a TaskManager may be running the execution. */
const ON_TASK_MANAGER: ReadonlySet<ExecutionState> = new Set(['DEPLOYING', 'INITIALIZING', 'RUNNING', 'CANCELING']);

export class ExecutionGraph {
  readonly executions: readonly Execution[];
  private readonly byId = new Map<string, Execution>();

  constructor(readonly graph: JobGraph, jobId: string) {
    const short = jobId.slice(0, 8);
    const salt = randomId(4);
    const executions: Execution[] = [];
    for (const vertex of graph.vertices) {
      for (let i = 0; i < vertex.parallelism; i++) {
        const e: Execution = { executionId: `${short}-${vertex.id}-${i}-${salt}`, vertex, subtaskIndex: i, slotIndex: i, state: 'CREATED' };
        executions.push(e);
        this.byId.set(e.executionId, e);
      }
    }
    this.executions = executions;
  }

  get(executionId: string): Execution | undefined {
    return this.byId.get(executionId);
  }

  isTerminal(e: Execution): boolean {
    return TERMINAL_EXECUTION_STATES.has(e.state);
  }

  allTerminal(): boolean {
    return this.executions.every((e) => this.isTerminal(e));
  }

  allFinished(): boolean {
    return this.executions.every((e) => e.state === 'FINISHED');
  }

  /** Executions a TaskManager may still be running (cancelling them needs a call). */
  onTaskManagers(): Execution[] {
    return this.executions.filter((e) => ON_TASK_MANAGER.has(e.state));
  }

  notTerminal(): Execution[] {
    return this.executions.filter((e) => !this.isTerminal(e));
  }

  /** Non-terminal executions placed on the given TaskManager. */
  onTaskManager(resourceId: string): Execution[] {
    return this.notTerminal().filter((e) => e.slot?.resourceId === resourceId);
  }

  describe(e: Execution): string {
    return `${e.vertex.name} (${e.subtaskIndex + 1}/${e.vertex.parallelism})`;
  }
}
