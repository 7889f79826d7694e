/**
 * What an attached `sluice submit` shows of a job it follows over REST, as pure functions of the
 * job's graph (built on this side) and the answers of `GET /jobs/:id`: the phase (waiting for
 * slots, deploying, restarting), records per second from the difference of two readings, and
 * the one-line status. Records in are what the source vertices took in, records out what the
 * sink vertices gave out, summed over the vertices the cluster reports; without `vertices` the
 * line leaves rates and backpressure out.
 */
import type { JobDetailsResponse } from '@sluice/jobmanager';
import type { JobGraph } from '@sluice/protocol';
import { formatPercent } from './views.js';
import { formatDuration } from './summary.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Records counted so far by the source and sink vertices; undefined when the cluster reports no vertices. */
export interface RecordCounts {
  in: number;
  out: number;
}

export function recordCounts(graph: JobGraph, details: JobDetailsResponse): RecordCounts | undefined {
  if (details.vertices === undefined) return undefined;
  const sources = new Set(graph.vertices.filter((v) => v.isSource).map((v) => v.id));
  const sinks = new Set(graph.vertices.filter((v) => v.isSink).map((v) => v.id));
  let recordsIn = 0;
  let recordsOut = 0;
  for (const v of details.vertices) {
    if (sources.has(v.id)) recordsIn += v.recordsIn;
    if (sinks.has(v.id)) recordsOut += v.recordsOut;
  }
  return { in: recordsIn, out: recordsOut };
}

/** One reading of a followed job. */
export interface Reading {
  at: number;
  counts: RecordCounts | undefined;
}

/** Records per second between two readings; a restart resets counters, so never negative. */
export function ratesBetween(prev: Reading | undefined, next: Reading): RecordCounts | undefined {
  if (prev?.counts === undefined || next.counts === undefined || next.at <= prev.at) return undefined;
  const seconds = (next.at - prev.at) / 1000;
  return { in: Math.max(0, next.counts.in - prev.counts.in) / seconds, out: Math.max(0, next.counts.out - prev.counts.out) / seconds };
}

/** Subtasks running and in all, over the reported vertices. */
function subtaskCounts(details: JobDetailsResponse): { running: number; total: number } | undefined {
  if (details.vertices === undefined || details.vertices.length === 0) return undefined;
  let running = 0;
  let total = 0;
  for (const v of details.vertices) {
    total += v.parallelism;
    running += v.subtasks.RUNNING ?? 0;
  }
  return { running, total };
}

/** What the job is waiting for, when it is not simply running or over: `waiting for slots`, `deploying 3/8 subtasks`. */
export function phaseOf(details: JobDetailsResponse): string | undefined {
  const subtasks = subtaskCounts(details);
  const deploying = subtasks === undefined ? undefined : `deploying, ${subtasks.running}/${subtasks.total} subtasks running`;
  switch (details.status) {
    case 'CREATED': {
      const started = details.vertices?.some((v) => Object.entries(v.subtasks).some(([s, n]) => n > 0 && s !== 'CREATED' && s !== 'SCHEDULED')) === true;
      return started ? deploying : 'waiting for slots';
    }
    case 'RUNNING':
      return subtasks !== undefined && subtasks.running < subtasks.total ? deploying : undefined;
    case 'RESTARTING':
      return 'restarting after a failure';
    default:
      return undefined;
  }
}

/** Restarts so far: the result's count once the job has ended; before, each failure in its history caused one. */
export function restartsOf(details: JobDetailsResponse): number | undefined {
  if (details.result?.restarts !== undefined) return details.result.restarts;
  if (details.result !== undefined) return 0;
  return details.exceptions?.length;
}

/** `RUNNING 12.30 s | in 1,234 rec/s | out 1,200 rec/s | backpressure 35% | checkpoints 4 | restarts 0`, cut to `columns`. */
export function formatFollowLine(details: JobDetailsResponse, elapsedMs: number, rates: RecordCounts | undefined, columns: number): string {
  const parts = [`${details.status} ${formatDuration(elapsedMs)}`];
  const phase = phaseOf(details);
  if (phase !== undefined) parts.push(phase);
  if (details.vertices !== undefined) {
    const rate = (r: number | undefined): string => (r === undefined ? '…' : integer.format(r));
    parts.push(`in ${rate(rates?.in)} rec/s`, `out ${rate(rates?.out)} rec/s`);
    const pressures = details.vertices.flatMap((v) => (v.backpressure === undefined ? [] : [v.backpressure]));
    if (pressures.length > 0) parts.push(`backpressure ${formatPercent(Math.max(...pressures))}`);
  }
  const c = details.checkpoints;
  if (c.completed + c.failed > 0) parts.push(`checkpoints ${c.completed}${c.failed === 0 ? '' : ` (${c.failed} failed)`}`);
  const restarts = restartsOf(details);
  if (restarts !== undefined) parts.push(`restarts ${restarts}`);
  const line = parts.join(' | ');
  const width = Math.max(10, columns - 1);
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}
