/**
 * @sluice/mesos-scheduler — the `mesos` ClusterDriver: a Mesos v1 HTTP framework scheduler that
 * starts TaskManagers on Mesos agents through Sluice's executor (@sluice/mesos-executor).
 */
export type * from './offers/types.js';
export type * from './master/types.js';
export { matchOffers } from './offers/match.js';
export { parseConstraints, compileConstraints, describeConstraint } from './offers/constraints.js';
export { stringifyAttribute, offerAttributes, placedWorkerOf } from './offers/attributes.js';
export { createMasterConnection, HttpMasterConnection, type MasterConnectionStats } from './master/connection.js';
export { MesosCallError, MesosNotSubscribedError } from './master/errors.js';
export { parseMasterLocation, type MasterEndpoint, type MasterLocation } from './master/location.js';
export { MASTER_CONNECTION_DEFAULTS, type MasterConnectionOptions, type MasterConnectionState, type MasterTlsOptions } from './master/options.js';
export { MesosClusterDriver } from './driver/mesos-cluster-driver.js';
export {
  DEFAULT_MESOS_DRIVER_OPTIONS,
  resolveMesosDriverOptions,
  TASKMANAGER_PORTS,
  type ExecutorContainer,
  type ExecutorLaunchSpec,
  type ExecutorUri,
  type FrameworkOptions,
  type MesosClusterDriverOptions,
  type ReconciliationOptions,
  type TaskManagerLaunchOptions,
} from './driver/options.js';
export { buildFrameworkInfo, buildTaskInfo, executorIdOf } from './driver/launch.js';
export { MesosDriverMetrics, type DriverStateView } from './driver/metrics.js';
export { createSchedulerHttpServer, type SchedulerHttpServer, type SchedulerHttpServerOptions, type SchedulerHttpSource } from './driver/http.js';
export type { HttpSdTargetGroup } from './driver/framework-messages.js';
export { systemTimers, type DriverTimers, type TimerHandle } from './driver/timers.js';
