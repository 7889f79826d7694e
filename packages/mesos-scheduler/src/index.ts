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
