/**
 * describePlan: the JobGraph as text for `sluice plan` and logs — one block per vertex (chain)
 * with its operators, then one line per exchange with its partitioner. Reads only plain data, so
 * it works on a JobGraph received over the wire as well as on a freshly built one.
 */
import { formatDuration, formatRestartStrategy, type JobConfig, type JobEdge, type JobGraph, type JobVertex } from '@sluice/protocol';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeVertex(v: JobVertex): string[] {
  const roles = [v.isSource ? 'source' : '', v.isSink ? 'sink' : ''].filter((r) => r.length > 0);
  const lines = [
    `${v.id}  ${v.name}${roles.length > 0 ? `  [${roles.join(', ')}]` : ''}`,
    `    parallelism ${v.parallelism}, max parallelism ${v.maxParallelism}`,
  ];
  for (const op of v.operators) {
    lines.push(`    #${op.nodeId} ${op.name} (${op.kind}${op.uid === undefined ? '' : `, uid '${op.uid}'`})`);
  }
  return lines;
}

function describeEdge(e: JobEdge, nodeNames: ReadonlyMap<number, string>): string {
  const details = [`#${e.sourceNodeId} ${nodeNames.get(e.sourceNodeId) ?? '?'} -> #${e.targetNodeId} ${nodeNames.get(e.targetNodeId) ?? '?'}`];
  if (e.sideOutputTag !== undefined) details.push(`side output '${e.sideOutputTag}'`);
  if (e.inputIndex === 1) details.push('second input');
  return `  ${e.sourceVertex} --${e.partitioner}--> ${e.targetVertex}   (${details.join('; ')})`;
}

/** Checkpointing and restarts in one line each, e.g. `checkpoints every 1s into /ck (timeout 10min, …)`. */
function describeFaultTolerance(c: JobConfig, checkpointRoot: string | undefined): string[] {
  const restarts = `  restart strategy ${formatRestartStrategy(c.restartStrategy)}`;
  if (!(c.checkpointIntervalMs > 0)) return ['  checkpoints off', restarts];
  const dir = checkpointRoot ?? (c.checkpointDir === '' ? '<os tmpdir>/sluice-checkpoints' : c.checkpointDir);
  return [
    `  checkpoints every ${formatDuration(c.checkpointIntervalMs)} into ${dir} (timeout ${formatDuration(c.checkpointTimeoutMs)}, ` +
      `min pause ${formatDuration(c.minPauseBetweenCheckpointsMs)}, ${c.retainedCheckpoints} retained, ${c.tolerableFailedCheckpoints} failed in a row tolerated)`,
    restarts,
  ];
}

export interface DescribePlanOptions {
  /** Where the checkpoints will go, resolved by the caller (the JobMaster's rule); default: the configured value. */
  checkpointRoot?: string;
}

export function describePlan(jobGraph: JobGraph, options: DescribePlanOptions = {}): string {
  const c = jobGraph.config;
  const lines = [
    `Job '${jobGraph.jobName}': ${plural(jobGraph.vertices.length, 'chain')}, ${plural(jobGraph.edges.length, 'exchange')}`,
    `  default parallelism ${c.defaultParallelism}, max parallelism ${c.maxParallelism}, buffer timeout ${c.bufferTimeoutMs} ms, ` +
      `watermark interval ${c.autoWatermarkIntervalMs} ms`,
    ...describeFaultTolerance(c, options.checkpointRoot),
    '',
  ];
  const nodeNames = new Map<number, string>();
  for (const v of jobGraph.vertices) {
    lines.push(...describeVertex(v));
    for (const op of v.operators) nodeNames.set(op.nodeId, op.name);
  }
  if (jobGraph.edges.length > 0) {
    lines.push('', 'Exchanges:');
    for (const e of jobGraph.edges) lines.push(describeEdge(e, nodeNames));
  }
  return `${lines.join('\n')}\n`;
}
