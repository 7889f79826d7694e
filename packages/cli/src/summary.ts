/**
 * The one line `sluice run` prints when a job ends, e.g.
 * `Job 'fraud' FINISHED in 2.31 s: 1,000,000 records from sources (432,900 records/s)`, followed by
 * restarts and checkpoint counts when there were any. Records count every attempt of the job.
 * Pure formatting over an EngineRunResult.
 */
import type { EngineRunResult } from './engine.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function summarizeResult(result: EngineRunResult): string {
  const head = `Job '${result.jobName}' ${result.status} ${result.status === 'FINISHED' ? 'in' : 'after'} ${formatDuration(result.durationMs)}`;
  const sources = new Set(result.sourceNodeIds);
  if (sources.size === 0) return withFaultTolerance(head, result);
  const records = result.operators.reduce((sum, op) => (sources.has(op.nodeId) ? sum + op.recordsOut : sum), 0);
  const rate = result.durationMs > 0 ? ` (${integer.format(records / (result.durationMs / 1000))} records/s)` : '';
  return withFaultTolerance(`${head}: ${integer.format(records)} ${records === 1 ? 'record' : 'records'} from sources${rate}`, result);
}

/** Restarts and checkpoints, when there were any: `…; 2 restarts; checkpoints: 14 completed, 1 failed (…)`. */
function withFaultTolerance(line: string, result: EngineRunResult): string {
  const parts = [line];
  const restarts = result.restarts ?? 0;
  if (restarts > 0) parts.push(`${restarts} ${restarts === 1 ? 'restart' : 'restarts'}`);
  const c = result.checkpoints;
  if (c !== undefined) {
    const last = c.lastFailure === undefined ? '' : ` (the last failed one, checkpoint ${c.lastFailure.checkpointId}: ${c.lastFailure.reason})`;
    parts.push(`checkpoints: ${c.completed} completed, ${c.failed} failed${last}`);
  }
  return parts.join('; ');
}

/** `0.42 s`, `2.31 s`, `59.99 s`, then `1 min 5 s`, `2 h 3 min 4 s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(2)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h} h ${m} min ${s} s` : `${m} min ${s} s`;
}
