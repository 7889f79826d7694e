/**
 * Source splits, enumerated by the JobMaster itself: it loads the job module (as every worker
 * does), finds the source at the head of the vertex and asks it for its splits — or, on
 * restore, deals out the splits a checkpoint recorded by the source's own rule. Only the job's
 * code knows its sources, so this is the one place the JobMaster runs user code.
 */
import { loadJob, type LoadedJob, type Source, type SourceSplit } from '@sluice/api';
import type { JobArtifact, JobSubmission } from '@sluice/protocol';
import type { SplitProvider } from './deployment.js';

/** Splits of one source vertex dealt to its subtasks, one array per subtask. */
export async function enumerateVertexSplits(
  job: LoadedJob,
  jobId: string,
  vertexId: string,
  parallelism: number,
  params: Record<string, string>,
  restored?: unknown[],
): Promise<unknown[][]> {
  const perSubtask: unknown[][] = Array.from({ length: parallelism }, () => []);
  const vertex = job.jobGraph.vertices.find((v) => v.id === vertexId);
  const head = vertex?.operators[0];
  if (head === undefined) return perSubtask;
  const spec = job.streamGraph.getNode(head.nodeId).spec;
  if (spec.kind !== 'source') return perSubtask;
  const source = spec.source as Source<unknown, SourceSplit>;
  const splits = restored ?? (await source.enumerateSplits({ parallelism, params, jobId }));
  splits.forEach((split, i) => {
    const target = source.assignSplit?.(split as SourceSplit, i, parallelism) ?? i % parallelism;
    perSubtask[target]!.push(split);
  });
  return perSubtask;
}

/**
 * The JobMaster's default SplitProvider: loads the submission's job module once per JobMaster
 * and enumerates. `localArtifact` makes the artifact loadable here: a JobMaster process on
 * another machine than the Dispatcher fetches the bundle and points `entry` at its copy.
 */
export function moduleSplitProvider(localArtifact: (a: JobArtifact) => Promise<JobArtifact> = async (a) => a): SplitProvider {
  const loaded = new Map<string, Promise<LoadedJob>>();
  return async (submission: JobSubmission, vertexId, parallelism, restored) => {
    let job = loaded.get(submission.jobId);
    if (job === undefined) {
      job = localArtifact(submission.artifact).then((a) => loadJob(a));
      loaded.set(submission.jobId, job);
      job.catch(() => loaded.delete(submission.jobId));
    }
    return enumerateVertexSplits(await job, submission.jobId, vertexId, parallelism, submission.artifact.params, restored);
  };
}
