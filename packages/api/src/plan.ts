/**
 * describePlan: the JobGraph as text for `sluice plan` and logs — one block per vertex (chain)
 * with its operators, then one line per exchange with its partitioner. Reads only plain data, so
 * it works on a JobGraph received over the wire as well as on a freshly built one.
 */
import type { JobEdge, JobGraph, JobVertex } from '@sluice/protocol';

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

export function describePlan(jobGraph: JobGraph): string {
  const c = jobGraph.config;
  const lines = [
    `Job '${jobGraph.jobName}': ${plural(jobGraph.vertices.length, 'chain')}, ${plural(jobGraph.edges.length, 'exchange')}`,
    `  default parallelism ${c.defaultParallelism}, max parallelism ${c.maxParallelism}, buffer timeout ${c.bufferTimeoutMs} ms, ` +
      `watermark interval ${c.autoWatermarkIntervalMs} ms`,
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
