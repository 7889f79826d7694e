/**
 * The engine behind `sluice run` and `sluice plan`: the embedded cluster of @sluice/jobmanager
 * (Dispatcher, ResourceManager and a TaskManager in this process, subtasks on worker threads).
 */
import { describePlan, loadJob } from '@sluice/api';
import { createLogger } from '@sluice/common';
import { resolveCheckpointRoot } from '@sluice/jobmanager';
import { runEmbedded } from '@sluice/minicluster';
import type { Engine } from './engine.js';

export function createEmbeddedEngine(): Engine {
  return {
    async plan(artifact) {
      const job = await loadJob(artifact);
      const config = job.jobGraph.config;
      return { text: describePlan(job.jobGraph, { checkpointRoot: resolveCheckpointRoot(config) }), config };
    },
    async run(artifact, options) {
      return runEmbedded(artifact, {
        signal: options.signal,
        logger: createLogger(),
        ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
        ...(options.restPort === undefined ? {} : { restPort: options.restPort }),
        ...(options.rest === undefined ? {} : { rest: options.rest }),
        ...(options.restoreFrom === undefined ? {} : { restoreFrom: options.restoreFrom }),
        ...(options.onStarted === undefined ? {} : { onStarted: options.onStarted }),
      });
    },
  };
}
