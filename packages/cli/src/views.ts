/**
 * What `list`, `info`, `taskmanagers` and `overview` print: aligned tables and short key/value
 * blocks over the REST API's answers. Pure; times in UTC, counts with thousands separators.
 */
import type { CheckpointsResponse, ClusterOverviewResponse, JobDetailsResponse, VertexDetails } from '@sluice/jobmanager';
import type { JobOverview, TaskManagerInfo } from '@sluice/protocol';
import { formatDuration } from './summary.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Columns padded to their widest cell; the last one is not padded. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** A table of jobs, one line each, for `sluice list`; times in UTC. */
export function formatJobList(jobs: readonly JobOverview[], now: number): string {
  if (jobs.length === 0) return 'No jobs.\n';
  return formatTable([
    ['JOB ID', 'STATUS', 'STARTED (UTC)', 'DURATION', 'NAME'],
    ...jobs.map((j) => [j.jobId, j.status, formatTime(j.startTime), formatDuration((j.endTime ?? now) - j.startTime), j.jobName]),
  ]);
}

/** `2 RUNNING, 1 DEPLOYING`, most advanced states first as the API lists them. */
export function formatSubtasks(subtasks: Readonly<Record<string, number>>): string {
  const parts = Object.entries(subtasks)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

export function formatPercent(share: number): string {
  return `${Math.round(Math.min(1, Math.max(0, share)) * 100)}%`;
}

function vertexTable(vertices: readonly VertexDetails[]): string {
  return formatTable([
    ['VERTEX', 'PARALLELISM', 'SUBTASKS', 'RECORDS IN', 'RECORDS OUT', 'BACKPRESSURE', 'NAME'],
    ...vertices.map((v) => [v.id, String(v.parallelism), formatSubtasks(v.subtasks), integer.format(v.recordsIn), integer.format(v.recordsOut), v.backpressure === undefined ? '-' : formatPercent(v.backpressure), v.name]),
  ]);
}

/** `sluice info`: the job, its checkpoints, its vertices and its exceptions, each when known. */
export function formatJobInfo(job: JobDetailsResponse, checkpoints: CheckpointsResponse | undefined, now: number): string {
  const lines = [`Job '${job.jobName}' (${job.jobId})`];
  const field = (name: string, value: string): void => {
    lines.push(`  ${`${name}:`.padEnd(13)}${value}`);
  };
  const ended = job.endTime === undefined ? '' : `, ended ${formatTime(job.endTime)} UTC`;
  field('Status', job.status);
  field('Started', `${formatTime(job.startTime)} UTC${ended} (${formatDuration((job.endTime ?? now) - job.startTime)})`);
  const c = job.checkpoints;
  field('Checkpoints', `${c.completed} completed, ${c.failed} failed, ${c.inProgress} in progress`);
  const latest = checkpoints?.latest;
  if (latest !== undefined) field(latest.restored ? 'Restored' : 'Latest', `checkpoint ${latest.id} at ${latest.path}`);
  if (c.lastFailure !== undefined) field('Last failed', `checkpoint ${c.lastFailure.checkpointId} at ${formatTime(c.lastFailure.timestamp)}: ${c.lastFailure.reason}`);
  const r = job.result;
  if (r !== undefined) {
    field('Result', `${r.status} after ${formatDuration(r.durationMs)}${r.restarts === undefined || r.restarts === 0 ? '' : `; ${r.restarts} ${r.restarts === 1 ? 'restart' : 'restarts'}`}`);
    if (r.error !== undefined) field('Error', r.error.message);
  }
  let text = `${lines.join('\n')}\n`;
  if (job.vertices !== undefined && job.vertices.length > 0) text += `\n${vertexTable(job.vertices)}`;
  if (job.exceptions !== undefined && job.exceptions.length > 0) {
    text += `\nExceptions (oldest first):\n`;
    for (const e of job.exceptions) text += `  ${formatTime(e.timestamp)}  ${e.code === undefined ? '' : `${e.code}: `}${e.message}\n`;
  }
  return text;
}

/** `sluice taskmanagers`: one line per TaskManager. */
export function formatTaskManagers(taskManagers: readonly TaskManagerInfo[]): string {
  if (taskManagers.length === 0) return 'No TaskManagers are registered.\n';
  return formatTable([
    ['RESOURCE ID', 'SLOTS', 'FREE', 'ADDRESS', 'METRICS'],
    ...taskManagers.map((t) => [t.resourceId, String(t.numberOfSlots), String(t.freeSlots), t.address, t.metricsUrl ?? '-']),
  ]);
}

/** `sluice overview`: TaskManagers, slots and jobs by status. */
export function formatOverview(o: ClusterOverviewResponse): string {
  const jobs = Object.entries(o.jobs)
    .filter(([, n]) => n !== undefined && n > 0)
    .map(([status, n]) => `${n} ${status}`);
  return [
    `TaskManagers: ${o.taskManagers}`,
    `Slots:        ${o.slotsTotal} (${o.slotsAvailable} free)`,
    `Jobs:         ${jobs.length === 0 ? 'none' : jobs.join(', ')}`,
    '',
  ].join('\n');
}
