/**
 * A job's exceptions history: every failure that made it restart or ended it, oldest first, with
 * the subtask and TaskManager it came from when one subtask's failure caused it. Bounded: the
 * oldest entries give way, and how many did is counted. Stack traces stay out (they describe the
 * server; the job's log has them).
 */
import type { SerializedError } from '@sluice/common';
import type { JobDetails, JobException } from '@sluice/protocol';
import type { Execution } from './execution-graph.js';

export const DEFAULT_EXCEPTION_HISTORY_SIZE = 100;

export class ExceptionHistory {
  private readonly entries: JobException[] = [];
  private dropped = 0;

  constructor(private readonly capacity = DEFAULT_EXCEPTION_HISTORY_SIZE) {}

  add(timestamp: number, error: SerializedError, cause?: Execution): void {
    const entry: JobException = { timestamp: Math.round(timestamp), code: error.code, message: error.message };
    if (cause !== undefined) {
      entry.vertexId = cause.vertex.id;
      entry.vertexName = cause.vertex.name;
      entry.subtask = cause.subtaskIndex;
      if (cause.slot !== undefined) entry.taskManager = cause.slot.resourceId;
    }
    this.entries.push(entry);
    if (this.entries.length > this.capacity) {
      this.entries.shift();
      this.dropped++;
    }
  }

  snapshot(): Pick<JobDetails, 'exceptions' | 'exceptionsDropped'> {
    return { exceptions: this.entries.map((e) => ({ ...e })), exceptionsDropped: this.dropped };
  }
}
