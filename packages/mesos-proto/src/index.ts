/**
 * @sluice/mesos-proto — the Mesos v1 scheduler and executor HTTP APIs on the wire: proto2
 * definitions (src/proto, parsed with protobufjs at first use), codecs for
 * `application/x-protobuf` and `application/json` over plain snake_case objects, and RecordIO
 * framing. Pure: no sockets. Used by the `mesos` ClusterDriver, the custom executor and the test
 * fake of the master and agent.
 */
export * from './codec.js';
export { encodeRecord, encodeRecords, readRecords, RecordIOReader, DEFAULT_MAX_RECORD_BYTES, type RecordIOReaderOptions } from './recordio.js';
export { MesosCodecError, RecordIOError } from './errors.js';
export { mesosRoot, protoDirectory, PROTO_FILES } from './schema.js';
export type * from './types/common.js';
export type * from './types/tasks.js';
export type * from './types/scheduler.js';
export type * from './types/executor.js';
