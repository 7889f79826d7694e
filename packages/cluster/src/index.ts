/**
 * @sluice/cluster — Sluice as a cluster of processes on one or many machines: the `process`
 * ClusterDriver (TaskManager processes on this machine), the supervision of child processes,
 * the TaskManager process (its entry, options and job-bundle cache), and the entrypoint, which
 * leads (alone, or elected among standbys through ZooKeeper) in leadership terms whose every
 * write to the HA store (@sluice/ha) carries the term's token.
 */
export { SupervisedChild, exitWithParent, type ChildExit, type ChildSpec } from './child.js';
export type { ClusterDriverFactory, TermClusterDriver, TermDriverContext } from './leader-term.js';
export { ProcessClusterDriver, type ProcessClusterDriverOptions } from './process-cluster-driver.js';
export { rpcArtifactSource } from './rpc-artifact-source.js';
export { processJobMasterRunner, type JobMasterProcessMessage, type JobMasterStartMessage, type ProcessJobMasterOptions } from './jobmaster-process.js';
export { ensureClusterRestToken, ensureClusterSecret, isProcessAlive, readEntrypointInfo, startClusterEntrypoint, type ClusterEntrypoint, type ClusterEntrypointOptions, type ClusterHighAvailability, type EntrypointInfo } from './entrypoint.js';
export { runTaskManagerProcess, runTaskManagerUntilStopped, TASKMANAGER_MAIN, type TaskManagerMainIo, type TaskManagerProcess, type TaskManagerProcessOptions } from './taskmanager-process.js';
export { parseTaskManagerArgs, TASKMANAGER_USAGE } from './taskmanager-args.js';
export { bundleResolver, linkNodeModules, sluiceNodeModules } from './taskmanager-artifacts.js';

