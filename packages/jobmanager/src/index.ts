/**
 * @sluice/jobmanager — the control plane: the Dispatcher (job registry, one JobMaster per job),
 * the JobMaster (execution graph, slots, deployment, job status and results), the
 * ResourceManager with its pure SlotManager and the ClusterDriver seam (local driver here, Mesos
 * elsewhere), the Dispatcher's REST API, and `createLocalCluster`, which assembles them in one
 * process around TaskManagers the caller supplies. Never imports @sluice/runtime (DESIGN §3).
 * Components reach each other and the TaskManagers only as gateways looked up through an
 * RpcService.
 */
export { createLocalCluster, LOCAL_CLUSTER_ADDRESSES, type JobHandle, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';
export { Dispatcher, JobNotFoundError, type DispatcherJobStore, type DispatcherOptions, type RecoveredJob } from './dispatcher/dispatcher.js';
export {
  inProcessJobMasterRunner,
  type InProcessJobMasterOptions,
  type JobMasterContext,
  type JobMasterRunner,
  type JobMasterRunnerFactory,
  type JobMasterTermination,
} from './dispatcher/job-master-runner.js';
export { InvalidSubmissionError, validateSubmission } from './dispatcher/validate-submission.js';
export { JobMaster, DEFAULT_JOB_MASTER_OPTIONS, resolveCheckpointRoot, type JobMasterOptions } from './jobmaster/job-master.js';
export { noSplits, type SplitProvider } from './jobmaster/deployment.js';
export { enumerateVertexSplits, moduleSplitProvider } from './jobmaster/splits.js';
export { ResourceManager, DEFAULT_RESOURCE_MANAGER_OPTIONS, resolveResourceManagerOptions, type ResourceManagerOptions } from './resourcemanager/resource-manager.js';
export { WorkerFailureRate, DEFAULT_WORKER_FAILURE_RATE, type WorkerFailureRateOptions } from './resourcemanager/worker-failure-rate.js';
export { SlotManager, workersToRequest, type SlotAllocation, type SlotPlan, type SlotRelease } from './resourcemanager/slot-manager.js';
export type { ClusterDriver, ClusterDriverEvents, WorkerSpec } from './resourcemanager/cluster-driver.js';
export { LocalClusterDriver, type LocalClusterDriverOptions, type LocalWorker, type TaskManagerContext, type TaskManagerFactory } from './resourcemanager/local-cluster-driver.js';
export { createRestartBackoff, type RestartBackoff, type RestartBackoffOptions } from './jobmaster/restart-strategy.js';
export * from './rest/index.js';
export { ArtifactStore, ArtifactTooLargeError, DEFAULT_MAX_ARTIFACT_BYTES, type StoredArtifact } from './artifacts/artifact-store.js';
export { artifactGateway, MAX_ARTIFACT_CHUNK_BYTES } from './artifacts/artifact-gateway.js';
