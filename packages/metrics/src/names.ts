/**
 * The catalogue of series Sluice exports — a TaskManager's, and the per-job series of the
 * JobMasters: names, help texts and label names in one place, so the registries, the README's
 * Flink mapping and dashboards agree. Names follow Prometheus conventions: `sluice_` prefix,
 * `_total` for counters, base units (seconds, bytes, ratio).
 *
 * Labels are bounded by the job graph: job name, job id, vertex (chain) name, operator name and
 * subtask index. Record keys or any other per-record value never become a label.
 */

/** Labels of per-operator series. */
export const OPERATOR_LABELS = ['job_name', 'job_id', 'vertex', 'operator', 'subtask'] as const;
/** Labels of per-subtask (per chain instance) series. */
export const TASK_LABELS = ['job_name', 'job_id', 'vertex', 'subtask'] as const;

export type OperatorLabel = (typeof OPERATOR_LABELS)[number];
export type TaskLabel = (typeof TASK_LABELS)[number];

export interface MetricDefinition {
  name: string;
  help: string;
}

export const OPERATOR_COUNTERS = {
  recordsIn: { name: 'sluice_operator_records_in_total', help: 'Records received by the operator.' },
  recordsOut: { name: 'sluice_operator_records_out_total', help: 'Records emitted by the operator.' },
  lateRecordsDropped: {
    name: 'sluice_operator_late_records_dropped_total',
    help: 'Records dropped because they arrived after the watermark passed their window (plus allowed lateness).',
  },
} as const satisfies Record<string, MetricDefinition>;

export const TASK_COUNTERS = {
  busySeconds: { name: 'sluice_task_busy_seconds_total', help: 'Time the subtask spent processing records.' },
  backpressuredSeconds: {
    name: 'sluice_task_backpressured_seconds_total',
    help: 'Time the subtask spent blocked on full output channels.',
  },
  idleSeconds: { name: 'sluice_task_idle_seconds_total', help: 'Time the subtask spent waiting for input.' },
  bytesIn: { name: 'sluice_task_bytes_in_total', help: 'Serialized bytes the subtask received from other subtasks.' },
  bytesOut: { name: 'sluice_task_bytes_out_total', help: 'Serialized bytes the subtask sent to other subtasks.' },
  buffersOut: { name: 'sluice_task_buffers_out_total', help: 'Output buffers (record batches) the subtask flushed.' },
} as const satisfies Record<string, MetricDefinition>;

export const TASK_WATERMARK_LAG: MetricDefinition = {
  name: 'sluice_task_watermark_lag_seconds',
  help: 'Processing time minus the current watermark at the chain head; absent until the first watermark.',
};

export const TASKMANAGER_SLOTS: MetricDefinition = {
  name: 'sluice_taskmanager_slots',
  help: 'Task slots of this TaskManager by state (total, free).',
};

export const WORKER_POOL = {
  threads: { name: 'sluice_worker_pool_threads', help: 'Worker threads in the TaskManager pool.' },
  utilization: {
    name: 'sluice_worker_pool_utilization_ratio',
    help: 'Fraction of worker pool capacity in use (0..1).',
  },
  queueSize: { name: 'sluice_worker_pool_queue_size', help: 'Tasks waiting for a free worker thread.' },
  completedTasks: {
    name: 'sluice_worker_pool_completed_tasks_total',
    help: 'Tasks the worker pool has completed.',
  },
} as const satisfies Record<string, MetricDefinition>;

/**
 * Labels of per-job series. Only the job: checkpoints and restarts belong to the job as a whole
 * (its JobMaster), not to a vertex or subtask.
 */
export const JOB_LABELS = ['job_name', 'job_id'] as const;

export type JobLabel = (typeof JOB_LABELS)[number];

/**
 * Per-job counters. Completed and failed checkpoints are two counters rather than one with a
 * `result` label: their sum is not the number of checkpoints triggered (checkpoints abandoned
 * because the job restarts or ends are neither), and alerts usually want one of them alone.
 */
export const JOB_COUNTERS = {
  restarts: {
    name: 'sluice_job_restarts_total',
    help: 'Times the job restarted after a failure (every subtask redeployed from the latest completed checkpoint).',
  },
  checkpointsCompleted: {
    name: 'sluice_job_checkpoints_completed_total',
    help: 'Checkpoints completed: every subtask acknowledged and the metadata was written.',
  },
  checkpointsFailed: {
    name: 'sluice_job_checkpoints_failed_total',
    help: 'Checkpoints that failed: declined by a subtask, timed out, or their metadata could not be written. Checkpoints abandoned because the job restarts or ends are not counted.',
  },
} as const satisfies Record<string, MetricDefinition>;

/** Per-job gauges. The `last_checkpoint_*` timings and size are absent until a checkpoint completes. */
export const JOB_GAUGES = {
  checkpointsInProgress: { name: 'sluice_job_checkpoints_in_progress', help: 'Checkpoints triggered and not yet complete or aborted (0 or 1).' },
  lastCheckpointId: {
    name: 'sluice_job_last_checkpoint_id',
    help: 'Id of the latest completed checkpoint, or of the checkpoint or savepoint the job was restored from; 0 before either.',
  },
  lastCheckpointDuration: {
    name: 'sluice_job_last_checkpoint_duration_seconds',
    help: 'Time from triggering to completion of the latest completed checkpoint.',
  },
  lastCheckpointSize: {
    name: 'sluice_job_last_checkpoint_size_bytes',
    help: 'State written by the latest completed checkpoint, over all subtasks.',
  },
  lastCheckpointAlignment: {
    name: 'sluice_job_last_checkpoint_alignment_seconds',
    help: 'Longest barrier alignment of any subtask in the latest completed checkpoint.',
  },
  lastCheckpointSync: {
    name: 'sluice_job_last_checkpoint_sync_seconds',
    help: 'Longest synchronous part of the snapshot (processing paused) of any subtask in the latest completed checkpoint.',
  },
  lastCheckpointMaxPause: {
    name: 'sluice_job_last_checkpoint_max_pause_seconds',
    help: 'Longest time the latest completed checkpoint held processing in any subtask: its synchronous part or one key group\'s copy-on-write capture.',
  },
  uptime: {
    name: 'sluice_job_uptime_seconds',
    help: 'Time since the job last started running (its start or its latest restart); 0 while it is not running.',
  },
} as const satisfies Record<string, MetricDefinition>;
