/**
 * What a job produced: collect-sink records in arrival order and operator record counts summed
 * over ended subtasks of every attempt, assembled into the JobResult the Dispatcher hands back to clients.
 */
import type { SerializedError } from '@sluice/common';
import type { CollectedRecords, JobResult, OperatorRecordCounts } from '@sluice/protocol';
import type { Execution } from './execution-graph.js';

export class JobResultCollector {
  private readonly collected: Record<string, unknown[]> = {};
  /** Operator counts of attempts that ended in a restart. */
  private readonly earlierAttempts: OperatorRecordCounts[] = [];

  /** Keeps what the subtasks of an attempt that is being replaced counted. */
  addAttempt(executions: readonly Execution[]): void {
    for (const e of executions) if (e.operators !== undefined) this.earlierAttempts.push(...e.operators);
  }

  addCollected(batch: CollectedRecords): void {
    const list = (this.collected[batch.sinkName] ??= []);
    for (const r of batch.records) list.push(r);
  }

  build(input: { jobId: string; jobName: string; status: JobResult['status']; durationMs: number; error?: SerializedError; executions: readonly Execution[] }): JobResult {
    const result: JobResult = {
      jobId: input.jobId,
      jobName: input.jobName,
      status: input.status,
      durationMs: input.durationMs,
      collected: Object.fromEntries(Object.entries(this.collected).map(([k, v]) => [k, v.slice()])),
      operators: sumOperators([...this.earlierAttempts, ...input.executions.flatMap((e) => e.operators ?? [])]),
    };
    if (input.error !== undefined) result.error = input.error;
    return result;
  }
}

/** Sums counts per nodeId, keeping the order in which node ids first appear. */
export function sumOperators(counts: readonly OperatorRecordCounts[]): OperatorRecordCounts[] {
  const byNode = new Map<number, OperatorRecordCounts>();
  for (const c of counts) {
    const sum = byNode.get(c.nodeId);
    if (sum === undefined) byNode.set(c.nodeId, { ...c });
    else {
      sum.recordsIn += c.recordsIn;
      sum.recordsOut += c.recordsOut;
    }
  }
  return [...byNode.values()];
}
