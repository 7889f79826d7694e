/**
 * @sluice/minicluster — the embedded cluster: @sluice/jobmanager's control plane and
 * @sluice/runtime's TaskManagers wired together in one process. It is what `sluice run` uses and
 * the only package that imports both; the multi-process cluster runs the same components apart.
 */
export {
  startEmbeddedCluster,
  runEmbedded,
  type EmbeddedCluster,
  type EmbeddedClusterOptions,
  type EmbeddedRunOptions,
  type EmbeddedRunResult,
  type EmbeddedJobStarted,
  type JobProgress,
  type SubmittedJob,
  type SubmitOptions,
} from './embedded-cluster.js';
export { oversubscriptionWarning } from './oversubscription.js';
