/**
 * What an entrypoint runs while it leads (one leadership term): the ResourceManager with a
 * ClusterDriver (the `process` one, or one the caller makes: `mesos`) and the Dispatcher, both fenced by the term's token — the
 * ResourceManager's id is the token, and every write to the HA store carries it. On the grant it
 * recovers every job the store holds that has not ended (each from its latest checkpoint); when
 * the term ends (the ZooKeeper session was lost, or the entrypoint stops) it stops its JobMaster
 * and TaskManager processes without ending their jobs, which stay in the store for the next leader
 * (a driver with `suspend` leaves its TaskManagers running for the next leader to adopt).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveCheckpoint } from '@sluice/checkpoint';
import { describeError, SluiceError, type Logger } from '@sluice/common';
import type { CheckpointPointer, HighAvailabilityOptions, HighAvailabilityServices, JobRecord, LeaderToken } from '@sluice/ha';
import { Dispatcher, ResourceManager, type ClusterDriver, type DispatcherJobStore } from '@sluice/jobmanager';
import type { NetworkRpcService } from '@sluice/rpc';
import { processJobMasterRunner } from './jobmaster-process.js';
import { ProcessClusterDriver } from './process-cluster-driver.js';
import { TASKMANAGER_MAIN } from './taskmanager-process.js';

/** A ClusterDriver whose workers can outlive the term (Mesos tasks the next leader adopts). */
export interface TermClusterDriver extends ClusterDriver {
  /**
   * Ends this term's use of the driver but leaves its workers running for the next leader, which
   * finds them again (HA). Without it, a term that ends stops its workers (`terminate`).
   */
  suspend?(): Promise<void>;
}

/** What a term's ClusterDriver is made from; the default makes TaskManager processes on this host. */
export interface TermDriverContext {
  token: LeaderToken;
  ha: HighAvailabilityServices;
  rpcAddress: string;
  secretFile: string;
  clusterDir: string;
  logger: Logger;
}

export type ClusterDriverFactory = (context: TermDriverContext) => TermClusterDriver;

export interface LeaderTermOptions {
  rpc: NetworkRpcService;
  /** `sluice://host:port` of this entrypoint. */
  rpcAddress: string;
  ha: HighAvailabilityServices;
  /** How the JobMaster processes open the same store. */
  haOptions: HighAvailabilityOptions;
  clusterDir: string;
  secretFile: string;
  /** Host and TLS flags of the child processes. */
  hostArgs: string[];
  heartbeatArgs: string[];
  heartbeat: { heartbeatIntervalMs?: number; heartbeatTimeoutMs?: number };
  taskManagers: number;
  slotsPerTaskManager: number;
  maxTaskManagers?: number;
  idleTaskManagerTimeoutMs: number;
  /** The term's ClusterDriver (default: the `process` driver). */
  clusterDriver?: ClusterDriverFactory;
  onLine?: (source: string, line: string) => void;
  logger: Logger;
}

export interface LeaderTerm {
  readonly token: LeaderToken;
  readonly driver: TermClusterDriver;
  readonly dispatcher: Dispatcher;
  readonly resourceManager: ResourceManager;
  /** Ends the term: `cancelJobs` (a single entrypoint stopping) cancels them, else they stay for the next leader. */
  stop(how: { cancelJobs: boolean; reason: string }): Promise<void>;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** The Dispatcher's job store for one term: every write carries the term's token. */
export function termJobStore(ha: HighAvailabilityServices, token: LeaderToken): DispatcherJobStore {
  const update = async (jobId: string, change: (r: JobRecord) => JobRecord): Promise<void> => {
    const current = await ha.jobs.get(jobId);
    if (current === undefined) throw new SluiceError('JOB_NOT_FOUND', `the HA store (${ha.description}) has no record of job ${jobId}`);
    await ha.jobs.put(token, change(current));
  };
  return {
    jobSubmitted: (submission) => ha.jobs.put(token, { submission, jobMasterAttempts: 0 }),
    jobMasterStarted: (jobId, attempt) => update(jobId, (r) => ({ ...r, jobMasterAttempts: Math.max(r.jobMasterAttempts, attempt + 1) })),
    latestCheckpoint: (jobId) => ha.checkpoints.latest(jobId),
    jobEnded: (jobId, status, endTime) => update(jobId, (r) => ({ ...r, ended: { status, endTime } })),
  };
}

/**
 * Starts the term's components, then `publish`es the leader's address (before any JobMaster
 * starts: a JobMaster stops as soon as the published leader is not the one that started it),
 * then recovers the stored jobs.
 */
export async function startLeaderTerm(o: LeaderTermOptions, token: LeaderToken, publish: () => Promise<void>): Promise<LeaderTerm> {
  const { rpc, rpcAddress, logger, onLine } = o;
  const driver: TermClusterDriver = o.clusterDriver?.({ token, ha: o.ha, rpcAddress, secretFile: o.secretFile, clusterDir: o.clusterDir, logger }) ?? new ProcessClusterDriver({
    // TaskManagers take their heartbeat pace from the ResourceManager's registration answer.
    taskManagerArgs: (spec) => [
      TASKMANAGER_MAIN,
      '--cluster',
      rpcAddress,
      '--secret-file',
      o.secretFile,
      '--resource-id',
      spec.resourceId,
      '--slots',
      String(spec.numberOfSlots),
      '--cache-dir',
      join(o.clusterDir, 'bundles'),
      ...o.hostArgs,
    ],
    ...(onLine === undefined ? {} : { onLine: (id: string, line: string) => onLine(id, line) }),
    logger,
  });
  const rm = new ResourceManager({
    rpc,
    address: 'resourcemanager',
    driver,
    resourceManagerId: token,
    slotsPerWorker: o.slotsPerTaskManager,
    minWorkers: o.taskManagers,
    ...(o.maxTaskManagers === undefined ? {} : { maxWorkers: o.maxTaskManagers }),
    idleWorkerTimeoutMs: o.idleTaskManagerTimeoutMs,
    ...o.heartbeat,
    logger,
  });
  const dispatcher = new Dispatcher({
    rpc,
    address: 'dispatcher',
    resourceManagerAddress: 'resourcemanager',
    jobStore: termJobStore(o.ha, token),
    jobMasterRunnerFactory: processJobMasterRunner({
      args: [here('./jobmaster-main.js'), '--cluster-dir', o.clusterDir, '--secret-file', o.secretFile, '--artifacts', `${rpcAddress}/artifacts`, ...o.hostArgs, ...o.heartbeatArgs],
      resourceManagerAddress: `${rpcAddress}/resourcemanager`,
      store: { ha: o.haOptions, leaderToken: token },
      ...(onLine === undefined ? {} : { onLine: (jobId: string, line: string) => onLine(`jobmaster ${jobId.slice(0, 8)}`, line) }),
      logger,
    }),
    logger,
  });
  const unsubscribe = rpc.onAddressLost((lost) => rm.peerConnectionClosed(lost));
  let stopping: Promise<void> | undefined;
  const stop = (how: { cancelJobs: boolean; reason: string }): Promise<void> =>
    (stopping ??= (async () => {
      unsubscribe();
      await (how.cancelJobs ? dispatcher.close() : dispatcher.suspend(how.reason));
      await (how.cancelJobs || driver.suspend === undefined ? driver.terminate() : driver.suspend());
      await rm.stop();
    })());
  try {
    await rm.start();
    await dispatcher.start();
    await publish();
    await recoverJobs(o.ha, dispatcher, logger);
  } catch (err) {
    await stop({ cancelJobs: false, reason: `the leadership term could not start: ${describeError(err)}` });
    throw err;
  }
  return { token, driver, dispatcher, resourceManager: rm, stop };
}

/** Hands every stored job that has not ended to the Dispatcher; damaged records are reported, the rest recover. */
async function recoverJobs(ha: HighAvailabilityServices, dispatcher: Dispatcher, logger: Logger): Promise<void> {
  const { records, problems } = await ha.jobs.list();
  for (const p of problems) logger.error(`job ${p.jobId} cannot be recovered: its record at ${p.where} is unreadable (${p.problem})`, { jobId: p.jobId });
  for (const record of records) {
    if (record.ended !== undefined) continue;
    const { jobId, jobName } = record.submission;
    let latest: CheckpointPointer | undefined;
    try {
      latest = await ha.checkpoints.latest(jobId);
    } catch (err) {
      logger.error(`job ${jobId} cannot be recovered: ${describeError(err)}`, { jobId });
      const error = err instanceof SluiceError ? err : new SluiceError('HA_STORE_CORRUPT', describeError(err), { cause: err });
      await dispatcher.addUnrecoverableJob(jobId, jobName, error);
      continue;
    }
    if (latest !== undefined) {
      // A pointer to a checkpoint that is gone (storage lost, directory removed): say so now,
      // naming the pointer, instead of a JobMaster failing the job on restore.
      const problem = await resolveCheckpoint(latest.location).then(() => undefined, (err: unknown) => describeError(err));
      if (problem !== undefined) {
        const pointer = ha.checkpoints.describeLatest(jobId);
        const error = new SluiceError(
          'CHECKPOINT_MISSING',
          `job ${jobId} cannot be recovered: its latest-checkpoint pointer ${pointer.where} names checkpoint ${latest.id} at ${latest.location}, which cannot be read (${problem}); bring the checkpoint back, or ${pointer.remove} to restart the job from its beginning`,
        );
        logger.error(error.message, { jobId });
        await dispatcher.addUnrecoverableJob(jobId, jobName, error);
        continue;
      }
    }
    await dispatcher.recoverJob({ submission: record.submission, jobMasterAttempts: record.jobMasterAttempts, ...(latest === undefined ? {} : { latestCheckpoint: latest }) });
  }
}
