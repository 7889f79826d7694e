/**
 * @sluice/mesos-executor — Sluice's custom Mesos executor: subscribes to the agent's v1 executor
 * API, runs one TaskManager process per launched task and reports its state reliably, plus the
 * TaskManager's slots and a metric summary as framework messages to the scheduler. The process
 * entry is `sluice-mesos-executor` (executor-main.ts); the scheduler uses the task protocol.
 */
import { fileURLToPath } from 'node:url';

export * from './task-protocol.js';
export { loadExecutorConfig, parseMesosDuration, MESOS_DEFAULTS, SLUICE_EXECUTOR_DEFAULTS, type ExecutorConfig } from './config.js';
export { MesosExecutor, EXECUTOR_EXIT_CODES, DEFAULT_KILL_GRACE_MS, type MesosExecutorOptions } from './executor.js';
export { AgentClient, EXECUTOR_API_PATH, type AgentClientOptions } from './agent-client.js';
export { AgentError, type AgentGateway, type AgentStreamHandlers, type AgentSubscription } from './agent-gateway.js';
export { createTaskManagerLauncher, taskManagerArgs, type LaunchedTaskManager, type TaskManagerLauncher, type TaskManagerLauncherOptions, type TaskManagerRegistration } from './taskmanager-launcher.js';

/** The executor's process entry in this installation (`node <it>`), for agents that share the install path. */
export const EXECUTOR_MAIN = fileURLToPath(new URL('./executor-main.js', import.meta.url));
