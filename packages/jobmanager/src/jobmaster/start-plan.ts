/**
 * What a JobMaster works out before its job runs: the checkpoint directory takes files, the
 * sources' splits, and — when the job starts from a savepoint or retained checkpoint — the
 * restore plan, with the warnings a user should see about it.
 */
import type { Logger } from '@sluice/common';
import type { CheckpointStorage } from '@sluice/checkpoint';
import type { JobConfig, JobSubmission } from '@sluice/protocol';
import { locateCheckpoint } from '../checkpoint/locate.js';
import { planRestore, statefulOperatorsWithoutUid, type RestorePlan } from '../checkpoint/restore.js';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.js';
import { enumerateSplits, type SplitProvider } from './deployment.js';

export interface StartPlan {
  splits: ReadonlyMap<string, unknown[][]>;
  /** Set when the job restores a savepoint or checkpoint. */
  restore?: { plan: RestorePlan; checkpoint: CompletedCheckpoint };
}

export function planRestoreFrom(submission: JobSubmission, provider: SplitProvider, c: CompletedCheckpoint, allowNonRestoredState: boolean): Promise<RestorePlan> {
  return planRestore(c.location, c.meta, submission.jobGraph, {
    allowNonRestoredState,
    assignSplits: (vertexId, parallelism, splits) => provider(submission, vertexId, parallelism, splits),
  });
}

/** Checkpointed operators without a uid restore only into the same graph: say so once, at the start. */
function warnAboutMissingUids(submission: JobSubmission, config: JobConfig, logger: Logger): void {
  if (!(config.checkpointIntervalMs > 0)) return;
  const missing = statefulOperatorsWithoutUid(submission.jobGraph);
  if (missing.length === 0) return;
  logger.warn(
    `${missing.length} stateful operator(s) have no .uid(...): ${missing.join(', ')}. Checkpoints and savepoints know them by their position in the graph, ` +
      `so their state restores only into a job with the same graph; give each a .uid('...') that stays the same across versions of the job`,
  );
}

export async function planStart(submission: JobSubmission, config: JobConfig, provider: SplitProvider, storage: CheckpointStorage, logger: Logger): Promise<StartPlan> {
  const splits = await enumerateSplits(submission, provider);
  warnAboutMissingUids(submission, config, logger);
  const restoreFrom = submission.restoreFrom;
  if (restoreFrom === undefined) return { splits };
  const found = await locateCheckpoint(storage, restoreFrom.path, logger);
  const checkpoint: CompletedCheckpoint = { id: found.meta.checkpointId, ...found };
  const plan = await planRestoreFrom(submission, provider, checkpoint, restoreFrom.allowNonRestoredState ?? false);
  const at = { checkpointId: found.meta.checkpointId };
  logger.info('restoring from checkpoint', { path: found.location, ...at });
  for (const w of plan.warnings) logger.warn(w, at);
  for (const n of plan.notes) logger.info(n, at);
  if (plan.drainedSources.length > 0) {
    logger.warn(
      `${found.location} was taken with --drain: event time of ${plan.drainedSources.join(', ')} is at its end, so every record with an event time is late ` +
        `(windows drop it) and no event-time timer will fire again; to continue where the job was, resume a savepoint taken without --drain`,
      at,
    );
  }
  return { splits, restore: { plan, checkpoint } };
}
