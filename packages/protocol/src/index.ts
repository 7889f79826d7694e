/**
 * @sluice/protocol — the contracts between components: the JobGraph as plain data, gateway
 * interfaces (Dispatcher, JobMaster, ResourceManager, TaskExecutor), their message types, the
 * RpcService that resolves addresses to gateways, and the serial Mailbox each component uses.
 */
export * from './jobgraph.js';
export * from './messages.js';
export * from './gateways.js';
export * from './rpc.js';
export * from './mailbox.js';
