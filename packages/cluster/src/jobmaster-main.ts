/**
 * The JobMaster process: started by the Dispatcher's process runner (jobmaster-process.ts) with
 * an IPC channel, it waits for its job, serves one JobMaster on its own RPC service (the cluster
 * secret authenticates every connection), fetches the job's bundle to enumerate source splits,
 * takes checkpoint ids from the job's counter in the HA store and records each completed
 * checkpoint there — both fenced by the leadership term of the entrypoint that started it, so
 * once that entrypoint is deposed nothing this process does lands in the store — and ends when
 * told to stop, on SIGTERM, or when the Dispatcher's process goes away.
 *
 *   node jobmaster-main.js --cluster-dir DIR --secret-file FILE --artifacts ADDRESS
 *                          [--bind-host H] [--advertised-host H]
 *                          [--tls-cert-file F --tls-key-file F --tls-ca-file F]
 *                          [--heartbeat-interval MS] [--heartbeat-timeout MS]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, describeError } from '@sluice/common';
import { JobMaster, moduleSplitProvider } from '@sluice/jobmanager';
import { NetworkRpcService } from '@sluice/rpc';
import { exitWithParent } from './child.js';
import type { JobMasterProcessMessage, JobMasterStartMessage } from './jobmaster-process.js';
import { createHighAvailabilityServices } from '@sluice/ha';
import { bundleResolver } from './taskmanager-artifacts.js';

const logger = createLogger(undefined, 'sluice.jobmaster');

function reply(m: JobMasterProcessMessage): void {
  process.send?.(m);
}

function optionalNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer of milliseconds, got '${v}'`);
  return n;
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    process.stderr.write('jobmaster-main.js is started by a Sluice Dispatcher (sluice cluster start), not by hand\n');
    process.exit(2);
  }
  const { values } = parseArgs({
    options: {
      'cluster-dir': { type: 'string' },
      'secret-file': { type: 'string' },
      artifacts: { type: 'string' },
      'bind-host': { type: 'string' },
      'advertised-host': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-key-file': { type: 'string' },
      'tls-ca-file': { type: 'string' },
    },
    strict: true,
  });
  const clusterDir = values['cluster-dir'];
  const secretFile = values['secret-file'];
  const artifacts = values.artifacts;
  if (clusterDir === undefined || secretFile === undefined || artifacts === undefined) throw new Error('--cluster-dir, --secret-file and --artifacts are required');
  const heartbeatIntervalMs = optionalNumber(values['heartbeat-interval'], '--heartbeat-interval');
  const heartbeatTimeoutMs = optionalNumber(values['heartbeat-timeout'], '--heartbeat-timeout');
  const certFile = values['tls-cert-file'];
  const keyFile = values['tls-key-file'];
  const caFile = values['tls-ca-file'];
  const tls = certFile !== undefined && keyFile !== undefined && caFile !== undefined ? { enabled: true, certFile, keyFile, caFile } : undefined;

  const start = await new Promise<JobMasterStartMessage>((resolve) => {
    const onMessage = (m: unknown): void => {
      if ((m as { type?: unknown } | null)?.type !== 'start') return;
      process.off('message', onMessage);
      resolve(m as JobMasterStartMessage);
    };
    process.on('message', onMessage);
  });
  const { submission, attempt, resourceManagerAddress, store } = start;
  const jobLogger = logger.child(submission.jobId.slice(0, 8));

  const rpc = new NetworkRpcService({
    bindHost: values['bind-host'] ?? '127.0.0.1',
    ...(values['advertised-host'] === undefined ? {} : { advertisedHost: values['advertised-host'] }),
    secretFile,
    ...(tls === undefined ? {} : { tls }),
    // Calls leave through Outboxes with their own timeouts; requestJobResult is a long call.
    callTimeoutMs: 0,
    logger: jobLogger,
  });
  await rpc.start();
  // Its full network address: the ResourceManager and TaskManagers call back on it.
  const address = rpc.addressOf(`jobmaster/${submission.jobId}`);
  const localArtifact = await bundleResolver({ rpc, artifactsAddress: artifacts, cacheDir: join(clusterDir, 'bundles') });
  const ha = await createHighAvailabilityServices(store.ha, jobLogger);
  const { leaderToken } = store;
  const jobId = submission.jobId;
  const jobMaster = new JobMaster({
    submission,
    rpc,
    address,
    resourceManagerAddress,
    attempt,
    splitProvider: moduleSplitProvider(localArtifact),
    recordCheckpoint: (c) => ha.checkpoints.putLatest(leaderToken, jobId, c),
    nextCheckpointId: async (atLeast) => {
      await ha.checkpoints.advanceCheckpointIdTo(leaderToken, jobId, atLeast);
      return ha.checkpoints.nextCheckpointId(leaderToken, jobId);
    },
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...(heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs }),
    logger: jobLogger,
  });
  rpc.onAddressLost((lost) => jobMaster.peerConnectionClosed(lost));

  const leader = ha.leaderRetrieval('dispatcher');
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await jobMaster.close().catch((err: unknown) => jobLogger.warn('closing the JobMaster failed', { error: describeError(err) }));
      await rpc.stop();
      await leader.stop().catch(() => undefined);
      await ha.close().catch((err: unknown) => jobLogger.warn('closing the HA store failed', { error: describeError(err) }));
    })());
  const stopAndExit = (): void => void stop().finally(() => process.exit(0));
  // Another entrypoint leads now: this one's term is over, and so is this JobMaster (its
  // TaskManagers see its connections close and cancel its tasks; the new leader runs the job).
  await leader.start((current) => {
    if (current === undefined || current.token === leaderToken) return;
    jobLogger.warn(`the entrypoint that started this JobMaster no longer leads (the leader is now ${current.address}); stopping`);
    stopAndExit();
  });
  process.on('message', (m) => {
    if ((m as { type?: unknown } | null)?.type === 'stop') stopAndExit();
  });
  process.once('SIGTERM', stopAndExit);
  process.once('SIGINT', stopAndExit);
  exitWithParent(stop, jobLogger);

  // The gateway is served before start()'s first await (a refused address rejects at once);
  // the rest of the start ends the job FAILED on its own, which the Dispatcher hears over RPC.
  const started = jobMaster.start();
  await Promise.race([started, Promise.resolve()]);
  reply({ type: 'ready', address });
  await started;
}

main().catch((err: unknown) => {
  const message = describeError(err);
  logger.error(`the JobMaster process could not start: ${message}`);
  reply({ type: 'failed', message });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
