/**
 * A subtask's counters in one shared Float64Array: the worker writes plain numbers (a few times
 * a second, never per record), the TaskManager's main thread reads them at scrape time.
 */
import type { OperatorMetricsSnapshot } from '@sluice/metrics';

export const enum TaskMetricSlot {
  BusyMs = 0,
  BackpressuredMs = 1,
  IdleMs = 2,
  CurrentWatermark = 3,
  BytesIn = 4,
  BytesOut = 5,
  BuffersOut = 6,
  OperatorBase = 8,
}

const PER_OPERATOR = 3;

export function createTaskMetricsBuffer(operatorCount: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer((TaskMetricSlot.OperatorBase + PER_OPERATOR * operatorCount) * 8);
  new Float64Array(sab)[TaskMetricSlot.CurrentWatermark] = -Infinity;
  return sab;
}

export interface OperatorCounters {
  recordsIn: number;
  recordsOut: number;
  lateRecordsDropped: number;
}

export function writeOperatorCounters(view: Float64Array, index: number, c: OperatorCounters): void {
  const base = TaskMetricSlot.OperatorBase + PER_OPERATOR * index;
  view[base] = c.recordsIn;
  view[base + 1] = c.recordsOut;
  view[base + 2] = c.lateRecordsDropped;
}

export function readOperatorCounters(view: Float64Array, operators: readonly { nodeId: number; name: string }[]): OperatorMetricsSnapshot[] {
  return operators.map((op, i) => {
    const base = TaskMetricSlot.OperatorBase + PER_OPERATOR * i;
    return { nodeId: op.nodeId, operator: op.name, recordsIn: view[base] ?? 0, recordsOut: view[base + 1] ?? 0, lateRecordsDropped: view[base + 2] ?? 0 };
  });
}
