/**
 * Turning an Execution into the TaskDeploymentDescriptor a TaskManager runs, and asking the
 * job's SplitProvider for source splits. Pure apart from the provider call, so the wiring of
 * inputs and outputs is testable on its own.
 */
import { describeError, SluiceError } from '@sluice/common';
import type { InputGateDescriptor, JobConfig, JobSubmission, ResultPartitionDescriptor, SubtaskRestore, TaskDeploymentDescriptor, TaskManagerLocation } from '@sluice/protocol';
import type { Execution, LogicalSlot } from './execution-graph.js';

/**
 * Enumerates the splits of a source vertex, one array per subtask — or, given `restored` (the
 * splits a checkpoint recorded), deals those out instead. Only code that loaded the job module
 * can do this, so the JobMaster is handed one rather than knowing sources itself.
 */
export type SplitProvider = (submission: JobSubmission, vertexId: string, parallelism: number, restored?: unknown[]) => Promise<unknown[][]>;

/** The default: sources get no splits (they decide their own partitioning). */
export const noSplits: SplitProvider = async (_submission, _vertexId, parallelism, restored) =>
  Array.from({ length: parallelism }, (_, i) => (restored ?? []).filter((_s, k) => k % parallelism === i));

/** Splits per source vertex id, validated to have exactly one entry per subtask. */
export async function enumerateSplits(submission: JobSubmission, provider: SplitProvider): Promise<Map<string, unknown[][]>> {
  const out = new Map<string, unknown[][]>();
  for (const v of submission.jobGraph.vertices) {
    if (!v.isSource) continue;
    let splits: unknown[][];
    try {
      splits = await provider(submission, v.id, v.parallelism);
    } catch (err) {
      throw new SluiceError('SPLIT_ENUMERATION_FAILED', `could not enumerate the splits of source '${v.name}' (vertex ${v.id}): ${describeError(err)}`, { cause: err });
    }
    if (!Array.isArray(splits) || splits.length !== v.parallelism || !splits.every(Array.isArray)) {
      throw new SluiceError(
        'SPLIT_ENUMERATION_FAILED',
        `the split provider returned ${Array.isArray(splits) ? `${splits.length} entries` : typeof splits} for source '${v.name}' (vertex ${v.id}); expected one array per subtask (${v.parallelism})`,
      );
    }
    out.set(v.id, splits);
  }
  return out;
}

/**
 * Where each shared slot's TaskManager exchanges data, by slot index — or undefined when any slot
 * is on a TaskManager without a data exchange of its own (the embedded cluster, whose
 * TaskManagers share one in-process shuffle: descriptors then carry no locations at all).
 */
export function slotLocations(slots: readonly (LogicalSlot | undefined)[]): TaskManagerLocation[] | undefined {
  const out: TaskManagerLocation[] = [];
  for (const s of slots) {
    if (s?.location === undefined) return undefined;
    out.push(s.location);
  }
  return out;
}

/**
 * The descriptor of one subtask. With `slotLocations`, every input and output names where the
 * subtasks at its other end run (subtask i of every vertex is in slot i), so the TaskManager
 * picks shared memory for a peer in the same TaskManager and TCP for one elsewhere.
 */
export function buildDeploymentDescriptor(
  submission: JobSubmission,
  execution: Execution,
  allocationId: string,
  attempt: number,
  splits: ReadonlyMap<string, unknown[][]>,
  config: JobConfig = submission.jobGraph.config,
  restore?: SubtaskRestore,
  slotLocations?: readonly TaskManagerLocation[],
): TaskDeploymentDescriptor {
  const graph = submission.jobGraph;
  const vertex = execution.vertex;
  const parallelismOf = (id: string): number => graph.vertices.find((v) => v.id === id)?.parallelism ?? 0;
  const locationsOf = (parallelism: number): TaskManagerLocation[] | undefined => {
    if (slotLocations === undefined) return undefined;
    const out = slotLocations.slice(0, parallelism);
    if (out.length !== parallelism) throw new SluiceError('INTERNAL', `${parallelism} subtasks but only ${slotLocations.length} slot locations`);
    return out;
  };
  const inputs: InputGateDescriptor[] = graph.edges
    .filter((e) => e.targetVertex === vertex.id)
    .map((e) => {
      const producerParallelism = parallelismOf(e.sourceVertex);
      const producerLocations = locationsOf(producerParallelism);
      return { edgeId: e.id, inputIndex: e.inputIndex, producerVertexId: e.sourceVertex, producerParallelism, ...(producerLocations === undefined ? {} : { producerLocations }) };
    });
  const outputs: ResultPartitionDescriptor[] = graph.edges
    .filter((e) => e.sourceVertex === vertex.id)
    .map((e) => {
      const consumerParallelism = parallelismOf(e.targetVertex);
      const consumerLocations = locationsOf(consumerParallelism);
      return { edgeId: e.id, consumerVertexId: e.targetVertex, consumerParallelism, ...(consumerLocations === undefined ? {} : { consumerLocations }) };
    });
  return {
    jobId: submission.jobId,
    jobName: submission.jobName,
    executionId: execution.executionId,
    attempt,
    vertexId: vertex.id,
    vertexName: vertex.name,
    subtaskIndex: execution.subtaskIndex,
    parallelism: vertex.parallelism,
    maxParallelism: vertex.maxParallelism,
    allocationId,
    artifact: submission.artifact,
    config,
    inputs,
    outputs,
    splits: splits.get(vertex.id)?.[execution.subtaskIndex] ?? [],
    ...(restore === undefined ? {} : { restore }),
  };
}
