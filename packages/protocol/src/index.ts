/**
 * @sluice/protocol — the contracts between components: the JobGraph as plain data, gateway
 * interfaces (Dispatcher, JobMaster, ResourceManager, TaskExecutor), their message types, the
 * RpcService that resolves addresses to gateways, the serial Mailbox each component uses, the
 * ordered Outbox its calls leave through, heartbeats and fencing tokens between components, and
 * job-level settings that travel as plain data (checkpoint messages, restart strategies, durations).
 */
export * from './jobgraph.js';
export * from './messages.js';
export * from './gateways.js';
export * from './rpc.js';
export * from './mailbox.js';
export * from './outbox.js';
export * from './heartbeat.js';
export * from './fencing.js';
export * from './checkpoint.js';
export * from './duration.js';
export * from './restart-strategy.js';
