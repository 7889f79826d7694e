#!/usr/bin/env node
/**
 * `sluice-mesos-executor`: the process a Mesos agent starts for a Sluice TaskManager task (the
 * ExecutorInfo's command). Reads its configuration from the agent's environment, runs the
 * executor until it should exit, and exits with one of EXECUTOR_EXIT_CODES.
 */
import { createLogger, describeError } from '@sluice/common';
import { AgentClient } from './agent-client.js';
import { EXECUTOR_ENVIRONMENT_HELP, loadExecutorConfig, type ExecutorConfig } from './config.js';
import { EXECUTOR_EXIT_CODES, MesosExecutor } from './executor.js';
import { createTaskManagerLauncher } from './taskmanager-launcher.js';

const USAGE = `Usage: sluice-mesos-executor

Sluice's custom Mesos executor. A Mesos agent starts it (it is the command of the ExecutorInfo
the Sluice scheduler launches TaskManagers with); it is not meant to be run by hand. It
subscribes to the agent's v1 executor API, starts one TaskManager process for its task, reports
the task's state (TASK_STARTING, TASK_RUNNING once the TaskManager registered, then how it
ended) and sends the TaskManager's slots and metrics to the scheduler as framework messages.
The TaskManager's output goes to stdout, prefixed with its task id; the executor logs to stderr.

Environment (set by the agent unless noted):
${EXECUTOR_ENVIRONMENT_HELP}
Signals: SIGTERM or SIGINT is handled like the agent's SHUTDOWN.

Exit codes:
  ${EXECUTOR_EXIT_CODES.done}  its task ended and the agent acknowledged that, or it was shut down
  ${EXECUTOR_EXIT_CODES.internalError}  an unexpected error
  ${EXECUTOR_EXIT_CODES.configuration}  the environment is missing a variable or has a malformed one
  ${EXECUTOR_EXIT_CODES.agentLost}  lost the agent: disconnected without checkpointing, or not
     re-subscribed within MESOS_RECOVERY_TIMEOUT
  ${EXECUTOR_EXIT_CODES.agentRefused}  the agent refused the subscription (unknown framework or executor, bad token)
`;

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(`sluice-mesos-executor: takes no arguments (got '${args[0]}'); it reads the environment a Mesos agent sets. See --help\n`);
  process.exit(EXECUTOR_EXIT_CODES.configuration);
}

let config: ExecutorConfig;
try {
  config = loadExecutorConfig();
} catch (err) {
  process.stderr.write(`sluice-mesos-executor: ${describeError(err)}\n`);
  process.exit(EXECUTOR_EXIT_CODES.configuration);
}

// The sandbox's stderr is where an operator looks first: say what happens unless told otherwise.
const logger = createLogger(process.env.SLUICE_LOG_LEVEL === undefined ? 'info' : undefined, 'mesos-executor');
const agent = new AgentClient({
  endpoint: config.agentEndpoint,
  encoding: config.encoding,
  ...(config.domainSocket === undefined ? {} : { domainSocket: config.domainSocket }),
  ...(config.authenticationToken === undefined ? {} : { authenticationToken: config.authenticationToken }),
});
const executor = new MesosExecutor({
  config,
  agent,
  launchTaskManager: createTaskManagerLauncher({ sandbox: config.sandbox }),
  logger,
});
process.on('SIGTERM', () => executor.shutdown('SIGTERM'));
process.on('SIGINT', () => executor.shutdown('SIGINT'));
logger.info(`executor ${config.executorId} of framework ${config.frameworkId} subscribing to ${agent.url}`, { checkpoint: config.checkpoint });

let code: number;
try {
  code = await executor.run();
} catch (err) {
  logger.error(`the executor failed: ${describeError(err)}`);
  code = EXECUTOR_EXIT_CODES.internalError;
}
process.stdout.write('', () => process.exit(code));
