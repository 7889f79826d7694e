/**
 * A cluster of processes for end-to-end tests: the ResourceManager and the Dispatcher (with
 * in-process JobMasters) on a NetworkRpcService in this process, which also serves the artifact
 * store at endpoint `artifacts`; TaskManagers as real processes (taskmanager-main.js) started
 * through the `process` ClusterDriver, each on a "host" of its own loopback address (127.0.0.2,
 * 127.0.0.3, …), talking RPC and TCP data with the cluster secret. Jobs are bundled and uploaded
 * as `sluice submit` does, and built from the bundle here.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadJob } from '@sluice/api';
import { bundleJob } from '@sluice/cli';
import { ProcessClusterDriver, TASKMANAGER_MAIN } from '@sluice/cluster';
import { createLogger, randomId, silentLogger, type Logger } from '@sluice/common';
import { ArtifactStore, artifactGateway, Dispatcher, JobMaster, ResourceManager, type JobMasterRunnerFactory } from '@sluice/jobmanager';
import type { CheckpointStatistics, JobResult, JobStatus, TaskManagerInfo } from '@sluice/protocol';
import { NetworkRpcService } from '@sluice/rpc';
import { waitFor } from './leaks.js';
import { freePort, TcpProxy } from './tcp-proxy.js';

export interface MultiProcessClusterOptions {
  /** TaskManager processes started up front (the ResourceManager starts more when short). */
  taskManagers: number;
  slotsPerTaskManager: number;
  /** Upper bound on TaskManager processes (default: unbounded). */
  maxTaskManagers?: number;
  /** Loopback "hosts" the TaskManagers take in turn (default 127.0.0.2 and 127.0.0.3). */
  hosts?: string[];
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** Extra environment of the TaskManager processes. */
  env?: Record<string, string>;
  /**
   * Put a TcpProxy in front of the data port of each TaskManager started up front (it advertises
   * the proxy's port), so a test can cut the connections between TaskManagers.
   */
  dataProxies?: boolean;
  logger?: Logger;
}

export interface SubmittedJob {
  jobId: string;
  result(): Promise<JobResult>;
  status(): Promise<JobStatus>;
  cancel(): Promise<void>;
  checkpoints(): Promise<CheckpointStatistics>;
}

export interface MultiProcessCluster {
  readonly rpc: NetworkRpcService;
  /** `sluice://127.0.0.1:<port>`: what `--cluster` takes. */
  readonly address: string;
  readonly secretFile: string;
  readonly driver: ProcessClusterDriver;
  /** Every output line of every TaskManager process, as `<resourceId>: <line>`. */
  readonly lines: string[];
  /** Bundles and uploads a job file, builds its graph from the bundle and submits it. */
  submit(file: string, options?: { parallelism?: number; params?: Record<string, string> }): Promise<SubmittedJob>;
  taskManagers(): Promise<TaskManagerInfo[]>;
  /** Waits until exactly these many TaskManagers are registered (and returns them). */
  waitForTaskManagers(n: number): Promise<TaskManagerInfo[]>;
  /** The data-port proxies (with `dataProxies`), by resource id. */
  readonly proxies: Map<string, TcpProxy>;
  /** Resource id → pid of the TaskManager processes running now. */
  pids(): Map<string, number>;
  /** Resolves once a line matching `re` was written by some TaskManager. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startMultiProcessCluster(options: MultiProcessClusterOptions): Promise<MultiProcessCluster> {
  const logger = options.logger ?? silentLogger;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mp-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, randomId(32));
  chmodSync(secretFile, 0o600);
  const heartbeat = { heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000, heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000 };
  const rpc = new NetworkRpcService({ bindHost: '127.0.0.1', secretFile, logger });
  await rpc.start();
  const address = `sluice://${rpc.advertisedPeer()!}`;
  const store = new ArtifactStore(join(dir, 'artifacts'));
  rpc.register('artifacts', artifactGateway(store));

  const lines: string[] = [];
  const lineWaiters: { re: RegExp; resolve(line: string): void }[] = [];
  const hosts = options.hosts ?? ['127.0.0.2', '127.0.0.3'];
  let started = 0;
  /** Flags of TaskManagers whose host or data port the harness chose before starting them. */
  const placed = new Map<string, string[]>();
  const proxies = new Map<string, TcpProxy>();
  const driver = new ProcessClusterDriver({
    taskManagerArgs: (spec) => [
      TASKMANAGER_MAIN,
      ...['--cluster', address, '--secret-file', secretFile, '--resource-id', spec.resourceId, '--slots', String(spec.numberOfSlots)],
      ...(placed.get(spec.resourceId) ?? ['--bind-host', hosts[started++ % hosts.length]!]),
      ...['--cache-dir', join(dir, 'cache'), '--worker-threads', String(Math.max(8, spec.numberOfSlots * 8))],
    ],
    env: { ...process.env, SLUICE_LOG_LEVEL: 'info', ...options.env },
    stopGraceMs: 10_000,
    onLine: (resourceId, line) => {
      const l = `${resourceId}: ${line}`;
      lines.push(l);
      for (const w of [...lineWaiters]) {
        if (!w.re.test(l)) continue;
        lineWaiters.splice(lineWaiters.indexOf(w), 1);
        w.resolve(l);
      }
    },
    logger,
  });

  const rm = new ResourceManager({
    rpc,
    address: 'resourcemanager',
    driver,
    slotsPerWorker: options.slotsPerTaskManager,
    ...(options.maxTaskManagers === undefined ? {} : { maxWorkers: options.maxTaskManagers }),
    ...heartbeat,
    logger,
  });
  // In-process JobMasters, served at network addresses: TaskManagers call them back.
  const jobMasters = new Set<JobMaster>();
  const jobMasterRunner: JobMasterRunnerFactory = (ctx) => {
    const jm = new JobMaster({ ...ctx, address: rpc.addressOf(ctx.address), ...heartbeat, logger });
    let closing: Promise<void> | undefined;
    let closed!: () => void;
    const termination = new Promise<{ type: 'closed' }>((resolve) => (closed = () => resolve({ type: 'closed' })));
    return {
      address: rpc.addressOf(ctx.address),
      termination,
      async start() {
        jobMasters.add(jm);
        await Promise.race([jm.start(), Promise.resolve()]);
      },
      close() {
        closing ??= jm.close().finally(() => {
          jobMasters.delete(jm);
          closed();
        });
        return closing;
      },
    };
  };
  const dispatcher = new Dispatcher({ rpc, address: 'dispatcher', resourceManagerAddress: 'resourcemanager', jobMasterRunnerFactory: jobMasterRunner, logger });
  rpc.onAddressLost((lost) => {
    rm.peerConnectionClosed(lost);
    for (const jm of jobMasters) jm.peerConnectionClosed(lost);
  });

  const close = async (): Promise<void> => {
    await dispatcher.close();
    await driver.terminate();
    await rm.stop();
    await rpc.stop();
    for (const p of proxies.values()) await p.close();
    rmSync(dir, { recursive: true, force: true });
  };

  const taskManagers = (): Promise<TaskManagerInfo[]> => rm.requestTaskManagerInfo();
  try {
    await rm.start();
    await dispatcher.start();
    const prefix = randomId(3);
    if (options.dataProxies === true) {
      for (let i = 0; i < options.taskManagers; i++) {
        const host = hosts[started++ % hosts.length]!;
        const dataPort = await freePort(host);
        const proxy = new TcpProxy(host, { host, port: dataPort });
        proxies.set(`tm-${prefix}-${i}`, proxy);
        placed.set(`tm-${prefix}-${i}`, ['--bind-host', host, '--data-port', String(dataPort), '--data-advertised-port', String(await proxy.start())]);
      }
    }
    await Promise.all(Array.from({ length: options.taskManagers }, (_, i) => driver.requestWorker({ resourceId: `tm-${prefix}-${i}`, numberOfSlots: options.slotsPerTaskManager })));
    await waitFor('the TaskManagers to register', async () => ((await taskManagers()).length === options.taskManagers ? true : undefined), 60_000);
  } catch (err) {
    await close();
    throw err;
  }

  return {
    rpc,
    address,
    secretFile,
    driver,
    lines,
    proxies,
    async submit(file, submitOptions = {}) {
      const bundle = await bundleJob(file);
      const { id } = await store.put(bundle.bytes);
      const artifact = {
        entry: bundle.file,
        source: file,
        bundle: id,
        params: submitOptions.params ?? {},
        ...(submitOptions.parallelism === undefined ? {} : { parallelism: submitOptions.parallelism }),
      };
      const job = await loadJob(artifact);
      const jobId = randomId();
      await dispatcher.submitJob({ jobId, jobName: job.jobGraph.jobName, artifact, jobGraph: job.jobGraph });
      return { jobId, result: () => dispatcher.requestJobResult(jobId), status: () => dispatcher.requestJobStatus(jobId), cancel: () => dispatcher.cancelJob(jobId),
        checkpoints: () => dispatcher.requestCheckpointStatistics(jobId),
      };
    },
    taskManagers,
    waitForTaskManagers: (n) => waitFor(`${n} registered TaskManagers`, async () => {
      const tms = await taskManagers();
      return tms.length === n ? tms : undefined;
    }, 60_000),
    pids: () => new Map(driver.processes().flatMap((p) => (p.pid === undefined ? [] : [[p.resourceId, p.pid] as const]))),
    waitForLine(re, timeoutMs = 60_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no TaskManager wrote a line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-20).join('\n')}`)), timeoutMs);
        lineWaiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
    close,
  };
}

/** A logger for the cluster's own components that prints warnings when SLUICE_TEST_VERBOSE is set. */
export function testLogger(): Logger {
  return process.env.SLUICE_TEST_VERBOSE === undefined ? silentLogger : createLogger('info', 'mp-test');
}

/** A logger keeping the info, warning and error lines of the cluster's own components (JobMasters, ResourceManager). */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const verbose = process.env.SLUICE_TEST_VERBOSE !== undefined;
  return {
    lines,
    logger: createLogger('info', 'cluster', (l) => {
      lines.push(l);
      if (verbose) process.stderr.write(`${l}\n`);
    }),
  };
}
