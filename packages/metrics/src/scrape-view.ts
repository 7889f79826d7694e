/**
 * Turns one TaskManagerMetricsSnapshot into the values of every exported series (a ScrapeView),
 * passing counters through MonotonicCounters so they survive subtasks ending and restarting.
 * No prom-client here: the registry only copies a view into its metrics at scrape time.
 */
import type { OperatorLabel, TaskLabel } from './names.js';
import { MonotonicCounters, type MonotonicCountersOptions } from './monotonic-counters.js';
import { CustomScrapeViewBuilder, type CustomFamilyView } from './custom-scrape-view.js';
import type { SubtaskMetricsSnapshot, TaskManagerMetricsSnapshot } from './snapshot.js';

export type OperatorLabels = Record<OperatorLabel, string>;
export type TaskLabels = Record<TaskLabel, string>;

export interface LabelledValues<L> {
  labels: L;
  values: readonly number[];
}

export interface ScrapeView {
  /** Values in order: recordsIn, recordsOut, lateRecordsDropped. */
  operators: LabelledValues<OperatorLabels>[];
  /** Values in order: busy s, backpressured s, idle s, bytes in, bytes out, buffers out. */
  tasks: LabelledValues<TaskLabels>[];
  /** Only subtasks that have seen a watermark. */
  watermarkLagSeconds: { labels: TaskLabels; value: number }[];
  slotsTotal: number;
  slotsFree: number;
  poolThreads: number;
  poolUtilization: number;
  poolQueueSize: number;
  poolCompletedTasks: number;
  /** Series defined by sources, sinks and user functions, by family. */
  custom: CustomFamilyView[];
}

export interface ScrapeViewBuilderOptions extends MonotonicCountersOptions {
  /** Labels the registry adds to every series; custom metrics may not define them. */
  defaultLabelNames: ReadonlySet<string>;
  /** Told once about each custom metric that cannot be exported. */
  warn: (message: string) => void;
}

/** Holds counter history between snapshots; `update` is called once per snapshot. */
export class ScrapeViewBuilder {
  private readonly operators: MonotonicCounters<OperatorLabels>;
  private readonly tasks: MonotonicCounters<TaskLabels>;
  private readonly pool: MonotonicCounters<null>;
  private readonly custom: CustomScrapeViewBuilder;

  constructor(options: Partial<ScrapeViewBuilderOptions> = {}) {
    const { defaultLabelNames = new Set<string>(), warn = () => {}, ...counters } = options;
    this.operators = new MonotonicCounters(counters);
    this.tasks = new MonotonicCounters(counters);
    this.pool = new MonotonicCounters(counters);
    this.custom = new CustomScrapeViewBuilder(counters, defaultLabelNames, warn);
  }

  /** `now` is wall-clock ms, the time base of watermarks. */
  update(snapshot: TaskManagerMetricsSnapshot, now: number): ScrapeView {
    const watermarkLagSeconds: ScrapeView['watermarkLagSeconds'] = [];
    this.operators.beginSnapshot();
    this.tasks.beginSnapshot();
    this.pool.beginSnapshot();

    for (const st of snapshot.subtasks) {
      const taskLabels = taskLabelsOf(st);
      // Identity uses ids, not names: two chains or operators may share a name, and a name is
      // not what makes a counter the same counter across scrapes.
      const taskId = JSON.stringify([st.jobId, st.vertexId, st.subtask]);
      this.tasks.observe(taskId, taskLabels, [
        st.busyMs / 1000,
        st.backpressuredMs / 1000,
        st.idleMs / 1000,
        st.bytesIn,
        st.bytesOut,
        st.buffersOut,
      ]);
      for (const op of st.operators) {
        const opLabels: OperatorLabels = {
          job_name: st.jobName,
          job_id: st.jobId,
          vertex: st.vertexName,
          operator: op.operator,
          subtask: String(st.subtask),
        };
        this.operators.observe(JSON.stringify([st.jobId, st.vertexId, st.subtask, op.nodeId]), opLabels, [
          op.recordsIn,
          op.recordsOut,
          op.lateRecordsDropped,
        ]);
      }
      if (Number.isFinite(st.currentWatermark)) {
        watermarkLagSeconds.push({ labels: taskLabels, value: (now - st.currentWatermark) / 1000 });
      }
    }
    this.pool.observe('pool', null, [snapshot.pool.completedTasks]);

    this.operators.endSnapshot(now);
    this.tasks.endSnapshot(now);
    this.pool.endSnapshot(now);

    let poolCompletedTasks = 0;
    for (const s of this.pool.samples()) poolCompletedTasks = s.values[0] ?? 0;
    return {
      operators: [...this.operators.samples()],
      tasks: [...this.tasks.samples()],
      watermarkLagSeconds,
      slotsTotal: snapshot.slotsTotal,
      slotsFree: snapshot.slotsFree,
      poolThreads: snapshot.pool.threads,
      poolUtilization: snapshot.pool.utilization,
      poolQueueSize: snapshot.pool.queueSize,
      poolCompletedTasks,
      custom: this.custom.update(snapshot.custom ?? [], now),
    };
  }
}

function taskLabelsOf(st: SubtaskMetricsSnapshot): TaskLabels {
  return { job_name: st.jobName, job_id: st.jobId, vertex: st.vertexName, subtask: String(st.subtask) };
}
