/**
 * The cluster benches (`keyed-2tm`, `q5-2tm`): the same job at the same parallelism on the
 * embedded cluster (one process, shared-memory channels) and on two TaskManager processes of
 * one slot each (the exchange between them crosses their authenticated data ports), alternating
 * A-B so a machine that drifts favours neither, with the ratio of the median rates. The cluster's
 * ResourceManager and Dispatcher run in this process on a NetworkRpcService; the job files are
 * on this machine, so the TaskManagers load them from disk as the embedded run does.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadJob } from '@sluice/api';
import { ProcessClusterDriver, TASKMANAGER_MAIN } from '@sluice/cluster';
import { randomId, silentLogger } from '@sluice/common';
import { readReports } from '@sluice/examples/nexmark';
import { Dispatcher, JobMaster, ResourceManager, type JobMasterRunnerFactory } from '@sluice/jobmanager';
import type { JobResult } from '@sluice/protocol';
import { NetworkRpcService } from '@sluice/rpc';
import { benchArtifact, runJob, type RunJobOptions } from './engine.js';
import { throughputFigures } from './measure.js';

export interface ClusterComparison {
  fields: Record<string, number>;
  detail: Record<string, unknown>;
  jobDurationMs: number;
}

/** Runs `jobFile` on the embedded cluster and on two TaskManager processes, `pairs` times each. */
export async function compareWithTwoTaskManagers(jobFile: string, opts: RunJobOptions, pairs: number): Promise<ClusterComparison> {
  const embedded: number[] = [];
  const cluster: number[] = [];
  let jobDurationMs = 0;
  for (let i = 0; i < pairs; i++) {
    const order = [
      [false, embedded],
      [true, cluster],
    ] as const;
    for (const [onCluster, into] of i % 2 === 0 ? order : [...order].reverse()) {
      const r = await measure(jobFile, opts, onCluster);
      into.push(r.eventsPerSec);
      jobDurationMs += r.durationMs;
    }
  }
  const e = median(embedded);
  const c = median(cluster);
  return { fields: { events_per_sec: Math.round(c), embedded_events_per_sec: Math.round(e), ratio: c / e, pairs }, detail: { embeddedRuns: embedded, clusterRuns: cluster }, jobDurationMs };
}

async function measure(jobFile: string, opts: RunJobOptions, onCluster: boolean): Promise<{ eventsPerSec: number; durationMs: number }> {
  const statsDir = mkdtempSync(join(os.tmpdir(), 'sluice-bench-cluster-'));
  try {
    const run = { ...opts, params: { ...opts.params, statsDir } };
    const result = onCluster ? await runOnTwoTaskManagers(jobFile, run) : await runJob(jobFile, run);
    if (result.status !== 'FINISHED') throw new Error(`job ${result.status} ${onCluster ? 'on two TaskManagers' : 'embedded'}: ${result.error?.message ?? 'no error reported'}`);
    const t = throughputFigures(readReports(statsDir), Number(opts.params['events']), result.durationMs);
    return { eventsPerSec: t.eventsPerSec, durationMs: result.durationMs };
  } finally {
    rmSync(statsDir, { recursive: true, force: true });
  }
}

/** One job on a fresh cluster of two one-slot TaskManager processes (on 127.0.0.2 and 127.0.0.3). */
async function runOnTwoTaskManagers(jobFile: string, opts: RunJobOptions): Promise<JobResult> {
  const dir = mkdtempSync(join(os.tmpdir(), 'sluice-bench-tm-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, randomId(32));
  chmodSync(secretFile, 0o600);
  const rpc = new NetworkRpcService({ secretFile, logger: silentLogger });
  await rpc.start();
  const cluster = `sluice://${rpc.advertisedPeer()!}`;
  const hosts = ['127.0.0.2', '127.0.0.3'];
  let n = 0;
  const driver = new ProcessClusterDriver({
    taskManagerArgs: (spec) => [TASKMANAGER_MAIN, '--cluster', cluster, '--secret-file', secretFile, '--resource-id', spec.resourceId, '--slots', '1', '--bind-host', hosts[n++ % 2]!, '--cache-dir', join(dir, 'cache')],
    onLine: () => undefined,
    logger: silentLogger,
  });
  const rm = new ResourceManager({ rpc, address: 'resourcemanager', driver, slotsPerWorker: 1, logger: silentLogger });
  // JobMasters in this process, served at network addresses the TaskManagers call back.
  const jobMasterRunnerFactory: JobMasterRunnerFactory = (ctx) => {
    const address = rpc.addressOf(ctx.address);
    const jm = new JobMaster({ ...ctx, address, logger: silentLogger });
    let closing: Promise<void> | undefined;
    let closed!: () => void;
    const termination = new Promise<{ type: 'closed' }>((resolve) => (closed = () => resolve({ type: 'closed' })));
    return {
      address,
      termination,
      start: async () => void (await Promise.race([jm.start(), Promise.resolve()])),
      close: () => (closing ??= jm.close().finally(closed)),
    };
  };
  const dispatcher = new Dispatcher({ rpc, address: 'dispatcher', resourceManagerAddress: 'resourcemanager', jobMasterRunnerFactory, logger: silentLogger });
  try {
    await rm.start();
    await dispatcher.start();
    await Promise.all([0, 1].map((i) => driver.requestWorker({ resourceId: `bench-tm-${i}`, numberOfSlots: 1 })));
    while ((await rm.requestTaskManagerInfo()).length < 2) await new Promise((r) => setTimeout(r, 20));
    const artifact = benchArtifact(jobFile, opts);
    const job = await loadJob(artifact);
    const jobId = randomId();
    await dispatcher.submitJob({ jobId, jobName: job.jobGraph.jobName, artifact, jobGraph: job.jobGraph });
    return await dispatcher.requestJobResult(jobId);
  } finally {
    await dispatcher.close();
    await driver.terminate();
    await rm.stop();
    await rpc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

