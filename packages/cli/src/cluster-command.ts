/**
 * `sluice cluster start` and `sluice cluster stop`. Start runs the cluster entrypoint in the
 * foreground (Ctrl-C stops it and every process it started; the TaskManager and JobMaster
 * processes also end by themselves when it dies) or, with --detach, in a process of its own
 * whose output goes to `<cluster dir>/entrypoint.log`. The REST token is written where the
 * client commands look for it, so `sluice submit` needs no flags on this machine.
 * `sluice mesos-job` starts its private entrypoint with the same openEntrypoint.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, describeError, type Logger } from '@sluice/common';
import type { CliSignal, SignalSource } from './cli.js';
import { zooKeeperOptionsOf, type ZooKeeperFlags } from '@sluice/ha';
import type { ClusterEntrypoint, ClusterHighAvailability } from '@sluice/cluster';
import type { JobDefaults } from '@sluice/jobmanager';
import type { ClusterStartOptions, ClusterStopOptions, MesosSessionOptions } from './cluster-args.js';
import { describeJobDefaults, jobDefaultsArgs } from './job-defaults-args.js';
import type { MesosRuntime } from './mesos-runtime.js';
import { defaultTokenFile, portOf, readTokenSource, removeTokenFile, stateDirectory, writeTokenFile } from './rest-token.js';

export interface ClusterCommandDeps {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  signals?: SignalSource;
  terminate(signal: CliSignal): void;
}

function clusterDirOf(options: { clusterDir?: string }, deps: ClusterCommandDeps): string {
  return resolve(deps.cwd, options.clusterDir ?? join(stateDirectory(deps.env), 'cluster'));
}

export async function clusterStart(options: ClusterStartOptions, deps: ClusterCommandDeps): Promise<number> {
  const clusterDir = clusterDirOf(options, deps);
  if (options.detach) return startDetached(options, clusterDir, deps);
  return runEntrypoint(options, clusterDir, deps, createLogger(options.quiet ? 'warn' : undefined, 'sluice'), undefined);
}

/** `sluice mesos-session`: the entrypoint with the `mesos` driver and the scheduler's HTTP server. */
export async function mesosSession(options: MesosSessionOptions, deps: ClusterCommandDeps): Promise<number> {
  const { startMesosRuntime } = await import('./mesos-runtime.js');
  const logger = createLogger(options.quiet ? 'warn' : undefined, 'sluice');
  const ha = options.highAvailability;
  const runtime = await startMesosRuntime(options.mesos, {
    cwd: deps.cwd,
    advertisedHost: advertisedHostOf(options),
    ...(ha === undefined ? {} : { haFlags: taskManagerHaFlags(ha, deps.cwd) }),
    logger,
  });
  try {
    return await runEntrypoint(options, clusterDirOf(options, deps), deps, logger, runtime);
  } finally {
    await runtime.close();
  }
}

/** The host other machines reach this entrypoint at. */
export function advertisedHostOf(options: Pick<ClusterStartOptions, 'advertisedHost' | 'bindHost'>): string {
  return options.advertisedHost ?? options.bindHost ?? '127.0.0.1';
}

/** The `--ha-*` flags a TaskManager takes (not the entrypoints' storage directory), keyed by name without dashes. */
export function taskManagerHaFlags(ha: ZooKeeperFlags & { storageDir: string }, cwd: string): Record<string, string> {
  const args = haArgs(ha, cwd);
  const flags: Record<string, string> = {};
  for (let i = 0; i + 1 < args.length; i += 2) flags[args[i]!.slice(2)] = args[i + 1]!;
  delete flags['ha-storage-dir'];
  return flags;
}

/** A started entrypoint whose REST token is where the client commands look for it. */
export interface OpenEntrypoint {
  readonly entry: ClusterEntrypoint;
  readonly tokenFile: string;
  /**
   * Stops the entrypoint and removes the token file. Without HA it cancels the jobs still running
   * and stops every TaskManager; with the Mesos driver, it also removes the framework. Idempotent.
   */
  close(): Promise<void>;
}

/** Starts the cluster entrypoint (with the Mesos driver when given) and writes its REST token file. */
export async function openEntrypoint(options: ClusterStartOptions, clusterDir: string, deps: ClusterCommandDeps, logger: Logger, mesos: MesosRuntime | undefined): Promise<OpenEntrypoint> {
  const { startClusterEntrypoint } = await import('@sluice/cluster');
  const restToken = options.restTokenFrom === undefined ? undefined : readTokenSource(resolve(deps.cwd, options.restTokenFrom));
  const entry = await startClusterEntrypoint({
    clusterDir,
    ...(restToken === undefined ? {} : { restToken }),
    ...(options.jobDefaults === undefined ? {} : { jobDefaults: resolvedJobDefaults(options.jobDefaults, deps.cwd) }),
    taskManagers: options.taskManagers,
    slotsPerTaskManager: options.slots,
    rpcPort: options.rpcPort,
    restPort: options.restPort,
    ...(options.maxTaskManagers === undefined ? {} : { maxTaskManagers: options.maxTaskManagers }),
    ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
    ...(options.idleTaskManagerTimeoutMs === undefined ? {} : { idleTaskManagerTimeoutMs: options.idleTaskManagerTimeoutMs }),
    ...(options.bindHost === undefined ? {} : { bindHost: options.bindHost }),
    ...(options.advertisedHost === undefined ? {} : { advertisedHost: options.advertisedHost }),
    ...(options.restHost === undefined ? {} : { restHost: options.restHost }),
    ...(options.restAllowedHosts === undefined ? {} : { restAllowedHosts: options.restAllowedHosts }),
    ...(options.tls === undefined ? {} : { tlsFiles: { certFile: resolve(deps.cwd, options.tls.certFile), keyFile: resolve(deps.cwd, options.tls.keyFile), caFile: resolve(deps.cwd, options.tls.caFile) } }),
    ...(options.quiet ? { onLine: () => undefined } : {}),
    ...(options.highAvailability === undefined ? {} : { highAvailability: highAvailabilityOf(options.highAvailability, deps.cwd) }),
    ...(mesos === undefined ? {} : { clusterDriver: mesos.clusterDriver }),
    logger,
  });
  mesos?.setHttpToken(entry.restToken);
  const tokenFile = resolve(deps.cwd, options.restTokenFile ?? defaultTokenFile(deps.env, portOf(entry.restUrl)));
  try {
    writeTokenFile(tokenFile, entry.restToken);
  } catch (err) {
    await entry.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= entry.close().finally(() => removeTokenFile(tokenFile, entry.restToken)));
  return { entry, tokenFile, close };
}

/** A cluster's first start made its REST token: shown once. */
export function announceNewToken(entry: ClusterEntrypoint, deps: Pick<ClusterCommandDeps, 'stderr'>): void {
  if (entry.restTokenCreated !== undefined) {
    deps.stderr(`sluice: generated the cluster's REST token (kept in ${entry.restTokenCreated}; shown only now): ${entry.restToken}\n`);
  }
}

async function runEntrypoint(options: ClusterStartOptions, clusterDir: string, deps: ClusterCommandDeps, logger: Logger, mesos: MesosRuntime | undefined): Promise<number> {
  const { entry, tokenFile, close } = await openEntrypoint(options, clusterDir, deps, logger, mesos);
  announceNewToken(entry, deps);
  deps.stdout(
    `Sluice cluster running from ${clusterDir}\n` +
      `  REST API      ${entry.restUrl} (token in ${tokenFile})\n` +
      `  RPC           ${entry.rpcAddress}${options.tls === undefined ? '' : ' (TLS, mutual)'}\n` +
      `  TaskManagers  ${options.taskManagers} kept, ${options.slots} slot(s) each; more are started while jobs need slots` +
      `${options.maxTaskManagers === undefined ? '' : `, at most ${options.maxTaskManagers}`}` +
      `${mesos === undefined ? '' : ', as Mesos tasks'}\n` +
      (mesos === undefined ? '' : `  Scheduler     ${mesos.schedulerUrl}/metrics, Prometheus service discovery at ${mesos.schedulerUrl}/http_sd\n`) +
      (options.jobDefaults === undefined ? '' : `  Job defaults  ${describeJobDefaults(resolvedJobDefaults(options.jobDefaults, deps.cwd))} (GET /config; submit's own flags win)\n`) +
      `Submit jobs with 'sluice submit job.ts'. TaskManagers on other hosts: 'sluice taskmanager --cluster ${entry.rpcAddress} --secret-file ${entry.secretFile}'.\n` +
      (options.highAvailability === undefined
        ? `Ctrl-C stops the cluster and every process it started${mesos === undefined ? '' : ', and removes the framework from Mesos'}.\n`
        : `  HA            ZooKeeper ${options.highAvailability.quorum}, cluster id ${options.highAvailability.clusterId ?? 'default'}; ${entry.leadership === undefined ? `standing by (the leader is ${entry.leader?.address ?? 'being elected'})` : 'leading'}\n` +
          `Ctrl-C stops this entrypoint; its jobs go on under a standby (or the next one to start).\n`),
  );
  await new Promise<void>((resolveStopped) => {
    let signals = 0;
    const onSignal = (signal: CliSignal): void => {
      signals++;
      if (signals > 1) {
        deps.terminate(signal);
        return;
      }
      deps.stderr(`sluice: ${signal} received, stopping the cluster (press Ctrl-C again to exit immediately)\n`);
      void close()
        .catch((err: unknown) => deps.stderr(`sluice: stopping the cluster failed: ${describeError(err)}\n`))
        .finally(() => {
          deps.signals?.off('SIGINT', onSignal);
          deps.signals?.off('SIGTERM', onSignal);
          resolveStopped();
        });
    };
    deps.signals?.on('SIGINT', onSignal);
    deps.signals?.on('SIGTERM', onSignal);
  });
  deps.stdout('Sluice cluster stopped.\n');
  return 0;
}

/** Starts `sluice cluster start` (without --detach) in a process of its own and waits until it serves. */
async function startDetached(options: ClusterStartOptions, clusterDir: string, deps: ClusterCommandDeps): Promise<number> {
  const { readEntrypointInfo, ensureClusterSecret } = await import('@sluice/cluster');
  ensureClusterSecret(clusterDir);
  const logFile = join(clusterDir, 'entrypoint.log');
  const args = [
    fileURLToPath(new URL('./main.js', import.meta.url)),
    'cluster',
    'start',
    '--cluster-dir',
    clusterDir,
    '--taskmanagers',
    String(options.taskManagers),
    '--slots',
    String(options.slots),
    '--rpc-port',
    String(options.rpcPort),
    '--rest-port',
    String(options.restPort),
    ...(options.maxTaskManagers === undefined ? [] : ['--max-taskmanagers', String(options.maxTaskManagers)]),
    ...(options.heartbeatIntervalMs === undefined ? [] : ['--heartbeat-interval', String(options.heartbeatIntervalMs)]),
    ...(options.heartbeatTimeoutMs === undefined ? [] : ['--heartbeat-timeout', String(options.heartbeatTimeoutMs)]),
    ...(options.idleTaskManagerTimeoutMs === undefined ? [] : ['--idle-taskmanager-timeout', String(options.idleTaskManagerTimeoutMs)]),
    ...(options.bindHost === undefined ? [] : ['--bind-host', options.bindHost]),
    ...(options.advertisedHost === undefined ? [] : ['--advertised-host', options.advertisedHost]),
    ...(options.restHost === undefined ? [] : ['--rest-host', options.restHost]),
    ...(options.restTokenFile === undefined ? [] : ['--rest-token-file', resolve(deps.cwd, options.restTokenFile)]),
    ...(options.restTokenFrom === undefined ? [] : ['--rest-token-from', resolve(deps.cwd, options.restTokenFrom)]),
    ...(options.restAllowedHosts ?? []).flatMap((h) => ['--rest-allowed-host', h]),
    ...(options.tls === undefined
      ? []
      : ['--tls-cert-file', resolve(deps.cwd, options.tls.certFile), '--tls-key-file', resolve(deps.cwd, options.tls.keyFile), '--tls-ca-file', resolve(deps.cwd, options.tls.caFile)]),
    ...(options.highAvailability === undefined ? [] : haArgs(options.highAvailability, deps.cwd)),
    ...(options.jobDefaults === undefined ? [] : jobDefaultsArgs(resolvedJobDefaults(options.jobDefaults, deps.cwd))),
  ];
  const log = openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...deps.env } as NodeJS.ProcessEnv });
  closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal === null ? `exited with code ${code ?? '?'}` : `was killed by ${signal}`));
  child.unref();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const info = readEntrypointInfo(clusterDir);
    if (info !== undefined && info.pid === child.pid) {
      deps.stdout(`Sluice cluster started in the background (pid ${info.pid}) from ${clusterDir}\n  REST API  ${info.restUrl}\n  RPC       ${info.rpcAddress}\n  log       ${logFile}\nStop it with 'sluice cluster stop${options.clusterDir === undefined ? '' : ` --cluster-dir ${clusterDir}`}'.\n`);
      return 0;
    }
    if (exited !== undefined || Date.now() > deadline) {
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n  ');
      deps.stderr(`sluice: the cluster ${exited ?? 'did not start within 60 s'}; the end of ${logFile}:\n  ${tail}\n`);
      if (exited === undefined) child.kill('SIGTERM');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function clusterStop(options: ClusterStopOptions, deps: ClusterCommandDeps): Promise<number> {
  const { readEntrypointInfo, isProcessAlive: alive } = await import('@sluice/cluster');
  const clusterDir = clusterDirOf(options, deps);
  const info = readEntrypointInfo(clusterDir);
  if (info === undefined || !alive(info.pid)) {
    deps.stderr(`sluice: no cluster runs from ${clusterDir}${options.clusterDir === undefined ? ' (pass --cluster-dir DIR if it was started with one)' : ''}\n`);
    return 1;
  }
  process.kill(info.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (alive(info.pid)) {
    if (Date.now() > deadline) {
      deps.stderr(`sluice: the cluster (pid ${info.pid}) did not stop within 60 s of SIGTERM; killing it\n`);
      process.kill(info.pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  deps.stdout(`Sluice cluster (pid ${info.pid}) stopped.\n`);
  return 0;
}

/** The entrypoint's HA options: paths resolved against the working directory, the digest read from its file. */
function highAvailabilityOf(flags: ZooKeeperFlags & { storageDir: string }, cwd: string): ClusterHighAvailability {
  const { storageDir, ...zk } = flags;
  const tls = zk.tls;
  return {
    ...zooKeeperOptionsOf({
      ...zk,
      ...(tls === undefined ? {} : { tls: { caFile: resolve(cwd, tls.caFile), ...(tls.certFile === undefined || tls.keyFile === undefined ? {} : { certFile: resolve(cwd, tls.certFile), keyFile: resolve(cwd, tls.keyFile) }) } }),
      ...(zk.digestFile === undefined ? {} : { digestFile: resolve(cwd, zk.digestFile) }),
    }),
    storageDir: resolve(cwd, storageDir),
  };
}

/** The same flags again, for the detached process. */
export function haArgs(ha: ZooKeeperFlags & { storageDir: string }, cwd: string): string[] {
  const out = ['--high-availability', 'zookeeper', '--ha-quorum', ha.quorum, '--ha-storage-dir', resolve(cwd, ha.storageDir)];
  if (ha.rootPath !== undefined) out.push('--ha-root', ha.rootPath);
  if (ha.clusterId !== undefined) out.push('--ha-cluster-id', ha.clusterId);
  if (ha.sessionTimeoutMs !== undefined) out.push('--ha-session-timeout', String(ha.sessionTimeoutMs));
  if (ha.connectionTimeoutMs !== undefined) out.push('--ha-connection-timeout', String(ha.connectionTimeoutMs));
  if (ha.tls !== undefined) {
    out.push('--ha-tls-ca-file', resolve(cwd, ha.tls.caFile));
    if (ha.tls.certFile !== undefined && ha.tls.keyFile !== undefined) out.push('--ha-tls-cert-file', resolve(cwd, ha.tls.certFile), '--ha-tls-key-file', resolve(cwd, ha.tls.keyFile));
  }
  if (ha.digestFile !== undefined) out.push('--ha-digest-file', resolve(cwd, ha.digestFile));
  return out;
}

/** The checkpoint directory resolved against the working directory: the cluster resolves no relative path. */
function resolvedJobDefaults(defaults: JobDefaults, cwd: string): JobDefaults {
  return defaults.checkpointDir === undefined ? defaults : { ...defaults, checkpointDir: resolve(cwd, defaults.checkpointDir) };
}
