/**
 * Piscina worker entry: one call runs one subtask to its end. The job module is imported once
 * per worker thread, but the job is rebuilt for every subtask so that each subtask gets fresh
 * user-function instances (functions may keep fields; two subtasks must never share them).
 */
import { buildJob, importJobBuilder, type JobBuilder } from '@sluice/api';
import { serializeError } from '@sluice/common';
import { StreamTask } from '../task/stream-task.js';
import type { SubtaskOutcome, SubtaskStart, WorkerMessage } from '../task/messages.js';

const builders = new Map<string, Promise<JobBuilder>>();

function builderFor(entry: string, label: string): Promise<JobBuilder> {
  let b = builders.get(entry);
  if (b === undefined) {
    b = importJobBuilder(entry, label);
    builders.set(entry, b);
    b.catch(() => builders.delete(entry));
  }
  return b;
}

async function execute(start: SubtaskStart): Promise<SubtaskOutcome> {
  try {
    const artifact = start.tdd.artifact;
    const job = await buildJob(await builderFor(artifact.entry, artifact.source ?? artifact.entry), artifact);
    const task = new StreamTask(start, job.streamGraph, job.jobGraph);
    return await task.run();
  } catch (err) {
    return { state: 'FAILED', error: serializeError(err), operators: [] };
  }
}

export default async function runSubtask(start: SubtaskStart): Promise<SubtaskOutcome> {
  const outcome = await execute(start);
  // The outcome travels on the same port as the collect sink's batches, so it arrives after
  // all of them; Piscina's own result message uses another port and is not ordered with them.
  start.port.postMessage({ type: 'done', outcome } satisfies WorkerMessage);
  return outcome;
}
