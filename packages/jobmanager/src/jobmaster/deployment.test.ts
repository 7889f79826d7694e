import { buildJob } from '@sluice/api';
import type { JobSubmission, TaskManagerLocation } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { buildDeploymentDescriptor, slotLocations } from './deployment.js';
import { ExecutionGraph } from './execution-graph.js';

/** source (p=1) → keyBy → reduce (p=2): two vertices, one hash edge. */
async function submission(): Promise<JobSubmission> {
  const job = await buildJob(
    (env) => {
      env
        .fromCollection([1, 2, 3])
        .setParallelism(1)
        .keyBy((x) => x % 2)
        .reduce((a, b) => a + b)
        .setParallelism(2)
        .print();
    },
    { entry: 'in-memory', params: {} },
  );
  return { jobId: 'job-1', jobName: 'j', artifact: { entry: 'in-memory', params: {} }, jobGraph: job.jobGraph };
}

const at = (resourceId: string, port?: number): TaskManagerLocation => (port === undefined ? { resourceId } : { resourceId, dataAddress: { host: '127.0.0.2', port } });

describe('deployment descriptors', () => {
  it('name where the subtasks at the other end of every input and output run: subtask i in slot i', async () => {
    const s = await submission();
    const graph = new ExecutionGraph(s.jobGraph, s.jobId);
    const slots = [
      { allocationId: 'a0', resourceId: 'tm-a', taskManagerAddress: 'x', location: at('tm-a', 7001) },
      { allocationId: 'a1', resourceId: 'tm-b', taskManagerAddress: 'y', location: at('tm-b', 7002) },
    ];
    const locations = slotLocations(slots);
    expect(locations).toEqual([at('tm-a', 7001), at('tm-b', 7002)]);
    const source = graph.executions.find((e) => e.vertex.isSource)!;
    const mapped = graph.executions.filter((e) => !e.vertex.isSource);
    const sourceTdd = buildDeploymentDescriptor(s, source, 'a0', 0, new Map(), undefined, undefined, locations);
    expect(sourceTdd.outputs.map((o) => o.consumerLocations)).toEqual([[at('tm-a', 7001), at('tm-b', 7002)]]);
    expect(mapped.length).toBeGreaterThanOrEqual(2);
    for (const m of mapped) {
      const tdd = buildDeploymentDescriptor(s, m, `a${m.subtaskIndex}`, 0, new Map(), undefined, undefined, locations);
      expect(tdd.inputs.length).toBeGreaterThan(0);
      // One location per producer subtask: the single source subtask is in slot 0.
      for (const i of tdd.inputs) expect(i.producerLocations).toEqual(locations!.slice(0, i.producerParallelism));
      if (m.vertex.id === sourceTdd.outputs[0]!.consumerVertexId) expect(tdd.inputs[0]!.producerLocations).toEqual([at('tm-a', 7001)]);
    }
  });

  it('carry no locations when a slot is on a TaskManager without a data exchange (the embedded cluster)', async () => {
    const s = await submission();
    const graph = new ExecutionGraph(s.jobGraph, s.jobId);
    expect(slotLocations([{ allocationId: 'a0', resourceId: 'tm-a', taskManagerAddress: 'x', location: at('tm-a', 7001) }, { allocationId: 'a1', resourceId: 'tm-b', taskManagerAddress: 'y' }])).toBeUndefined();
    const tdd = buildDeploymentDescriptor(s, graph.executions[0]!, 'a0', 0, new Map());
    expect([...tdd.inputs, ...tdd.outputs].some((g) => 'producerLocations' in g || 'consumerLocations' in g)).toBe(false);
  });
});
