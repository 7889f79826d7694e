/**
 * Runs a one-vertex job as one subtask on the calling thread, through the runtime's own worker
 * entry (`@sluice/runtime/worker`, what a Piscina worker calls): the StreamTask builds the
 * operator chain from the rebuilt graph and runs its source loop, with its housekeeping, metric
 * publishing and watermark timers, exactly as in a TaskManager — only without the worker thread,
 * the TaskManager and any channel, so what is measured is the chain.
 */
import { MessageChannel } from 'node:worker_threads';
import { loadJob, type Source, type SourceSplit } from '@sluice/api';
import type { JobArtifact, TaskDeploymentDescriptor } from '@sluice/protocol';
import runSubtask from '@sluice/runtime/worker';
import type { SideCounts } from './measure.js';
import { CHECKSUM_GAUGE, OUTPUTS_GAUGE } from './work.js';

type SubtaskStart = Parameters<typeof runSubtask>[0];
type WorkerMessage = { type: string; [k: string]: unknown };
interface MetricsUpdate {
  metrics: { id: number; definition: { name: string } }[];
  series: { id: number; metricId: number }[];
  values: Float64Array;
}

/** The task control block's size (runtime io/task-control.ts: 16 Int32 words). */
const CONTROL_BYTES = 16 * 4;

export interface ChainJob {
  artifact: JobArtifact;
  tdd: TaskDeploymentDescriptor;
  /** Operator names head to tail, as the runtime chained them. */
  operators: string[];
}

/**
 * Loads the job and plans its single subtask; fails when the job is not one chain (then the
 * benchmark would measure an exchange too).
 */
export async function planChainJob(jobFile: string, params: Record<string, string>): Promise<ChainJob> {
  const artifact: JobArtifact = { entry: jobFile, params, parallelism: 1, config: {} };
  const job = await loadJob(artifact);
  const vertices = job.jobGraph.vertices;
  if (vertices.length !== 1) {
    throw new Error(`the chain benchmark needs a job that is one chain, but ${jobFile} has ${vertices.length} vertices: ${vertices.map((v) => v.name).join(' | ')}`);
  }
  const vertex = vertices[0]!;
  const head = job.streamGraph.getNode(vertex.operators[0]!.nodeId).spec;
  if (head.kind !== 'source') throw new Error(`the chain benchmark needs a source at the head of the chain, got '${head.kind}'`);
  const jobId = 'bench-chain';
  const splits = await (head.source as Source<unknown, SourceSplit>).enumerateSplits({ parallelism: 1, params, jobId });
  const tdd: TaskDeploymentDescriptor = {
    jobId,
    jobName: job.jobGraph.jobName,
    executionId: `${jobId}-0`,
    attempt: 0,
    vertexId: vertex.id,
    vertexName: vertex.name,
    subtaskIndex: 0,
    parallelism: 1,
    maxParallelism: vertex.maxParallelism,
    allocationId: `${jobId}-slot`,
    artifact,
    config: job.jobGraph.config,
    inputs: [],
    outputs: [],
    splits,
  };
  return { artifact, tdd, operators: vertex.operators.map((o) => o.name) };
}

/** Gauge values by metric name from the task's custom-metrics updates (later values win). */
function gauges(messages: readonly WorkerMessage[]): Map<string, number> {
  const names = new Map<number, string>();
  const metricOfSeries = new Map<number, number>();
  const out = new Map<string, number>();
  for (const m of messages) {
    if (m.type !== 'custom-metrics') continue;
    const u = m['update'] as MetricsUpdate;
    for (const d of u.metrics) names.set(d.id, d.definition.name);
    for (const s of u.series) metricOfSeries.set(s.id, s.metricId);
    // Gauges take one number per series: [seriesId, value, seriesId, value, …].
    for (let i = 0; i + 1 < u.values.length; i += 2) {
      const name = names.get(metricOfSeries.get(u.values[i]!) ?? -1);
      if (name !== undefined) out.set(name, u.values[i + 1]!);
    }
  }
  return out;
}

/**
 * Runs the planned subtask to its end and returns what it counted: events out of the source,
 * bids out of the Bids operator, and the sink's count and checksum (its gauges). Throws when the
 * subtask does not finish.
 */
export async function runChainSubtask(job: ChainJob): Promise<SideCounts> {
  const { port1, port2 } = new MessageChannel();
  const messages: WorkerMessage[] = [];
  const done = new Promise<void>((resolve) => {
    port2.on('message', (m: WorkerMessage) => {
      messages.push(m);
      if (m.type === 'done') resolve();
    });
  });
  try {
    const start: SubtaskStart = { tdd: job.tdd, inputs: [], outputs: [], control: new SharedArrayBuffer(CONTROL_BYTES), port: port1 };
    const outcome = await runSubtask(start);
    // 'done' follows every custom-metrics update on the same port.
    await done;
    if (outcome.state !== 'FINISHED') throw new Error(`the chain subtask ended ${outcome.state}: ${outcome.error?.message ?? 'no error reported'}`);
    const ops = outcome.operators;
    const bidsOp = ops.find((o) => o.name === 'Bids');
    const values = gauges(messages);
    const outputs = values.get(`sluice_${OUTPUTS_GAUGE}`);
    const checksum = values.get(`sluice_${CHECKSUM_GAUGE}`);
    if (bidsOp === undefined || outputs === undefined || checksum === undefined) {
      throw new Error(`the chain subtask did not report its counts (operators: ${ops.map((o) => o.name).join(', ')}; gauges: ${[...values.keys()].join(', ')})`);
    }
    return { events: ops[0]!.recordsOut, bids: bidsOp.recordsOut, outputs, checksum };
  } finally {
    port1.close();
    port2.close();
  }
}
