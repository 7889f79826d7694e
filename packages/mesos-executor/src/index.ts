/**
 * @sluice/mesos-executor — Sluice's custom Mesos executor: subscribes to the agent's v1 executor
 * API, runs one TaskManager process per launched task and reports its state reliably, plus the
 * TaskManager's slots and a metric summary as framework messages to the scheduler.
 */
export * from './task-protocol.js';
