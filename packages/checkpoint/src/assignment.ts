/**
 * Restore assignment: which state files (and which sections of them) each subtask of a restored
 * operator reads. Pure functions over checkpoint metadata, used by the JobMaster when it deploys
 * a job from a checkpoint or savepoint, possibly at a different parallelism.
 *
 * Keyed state moves by key group: new subtask `i` owns the contiguous key-group range
 * `keyGroupRangeFor(maxParallelism, p, i)` and reads exactly those sections, whichever old
 * subtask wrote them. Operator state is opaque here (a blob per old subtask), so on a
 * parallelism change it is handed back whole for the operator to redistribute.
 */
import { keyGroupRangeFor, operatorIndexForKeyGroup, type KeyGroupRange } from '@sluice/common';
import type { KeyGroupSectionRef } from '@sluice/protocol';
import { checkpointError, type KeyedStateHandle, type OperatorCheckpointState, type OperatorStateHandle } from './format.js';

/** Part of one old subtask's keyed state file that a new subtask reads. */
export interface KeyedStateSlice {
  handle: KeyedStateHandle;
  /** Sections to read, sorted by key group; all within the new subtask's range. */
  sections: KeyGroupSectionRef[];
}

export interface KeyedStateAssignment {
  subtask: number;
  keyGroups: KeyGroupRange;
  /** One entry per old file that holds any of `keyGroups`, in old-subtask order. */
  slices: KeyedStateSlice[];
}

/**
 * For each new subtask `0..newParallelism-1`, the sections of the checkpointed keyed state in its
 * key-group range. Every checkpointed key group goes to exactly one new subtask. Throws
 * `CHECKPOINT_INCOMPATIBLE` if the max parallelism changed (key groups cannot be remapped) or the
 * new parallelism exceeds it.
 */
export function assignKeyedState(op: OperatorCheckpointState, newParallelism: number, newMaxParallelism = op.maxParallelism): KeyedStateAssignment[] {
  const maxP = op.maxParallelism;
  if (newMaxParallelism !== maxP) {
    throw checkpointError(
      'CHECKPOINT_INCOMPATIBLE',
      `operator '${op.uid}' (${op.name}) was checkpointed with max parallelism ${maxP} but the job now has ${newMaxParallelism}; ` +
        `keyed state is partitioned into ${maxP} key groups that cannot be remapped — set the max parallelism back to ${maxP}`,
    );
  }
  checkParallelism(op, newParallelism);
  if (newParallelism > maxP) {
    throw checkpointError(
      'CHECKPOINT_INCOMPATIBLE',
      `operator '${op.uid}' (${op.name}) cannot run at parallelism ${newParallelism}: its state has ${maxP} key groups (max parallelism ${maxP}); use a parallelism of at most ${maxP}`,
    );
  }
  const out: KeyedStateAssignment[] = Array.from({ length: newParallelism }, (_, subtask) => ({
    subtask,
    keyGroups: keyGroupRangeFor(maxP, newParallelism, subtask),
    slices: [],
  }));
  const handles = [...op.keyed].sort((a, b) => a.subtask - b.subtask);
  for (const handle of handles) {
    // Sections are sorted by key group and new ranges are contiguous and ascending, so each
    // new subtask's share of a file is one run of consecutive sections.
    let current: KeyedStateSlice | undefined;
    let currentTarget = -1;
    for (const section of handle.keyGroups) {
      if (!Number.isInteger(section.keyGroup) || section.keyGroup < 0 || section.keyGroup >= maxP) {
        throw checkpointError('CHECKPOINT_CORRUPT', `operator '${op.uid}': state file ${handle.file} has key group ${section.keyGroup}, outside [0, ${maxP})`);
      }
      const target = operatorIndexForKeyGroup(section.keyGroup, maxP, newParallelism);
      if (target !== currentTarget || current === undefined) {
        current = { handle, sections: [] };
        currentTarget = target;
        out[target]!.slices.push(current);
      }
      current.sections.push(section);
    }
  }
  return out;
}

/**
 * Operator state for a restore. At the same parallelism each new subtask gets what the old
 * subtask with its index wrote (`same-parallelism`, `subtasks[i]`). After a parallelism change
 * there is no index to match, so the handles come back together (`rescaled`, sorted by old
 * subtask) and the caller decides who reads what. The contract for a rescaled restore: the
 * caller hands every new subtask the full `handles` list along with `fromParallelism` and its
 * own index, and the operator keeps its share. (Sources are not among these: their positions are
 * plain data in the metadata, dealt out again by the JobMaster.) Handles are never split or
 * merged here.
 */
export type OperatorStateAssignment =
  | { mode: 'same-parallelism'; parallelism: number; subtasks: OperatorStateHandle[][] }
  | { mode: 'rescaled'; fromParallelism: number; toParallelism: number; handles: OperatorStateHandle[] };

export function assignOperatorState(op: OperatorCheckpointState, newParallelism: number): OperatorStateAssignment {
  checkParallelism(op, newParallelism);
  const sorted = [...op.operator].sort((a, b) => a.subtask - b.subtask);
  for (const h of sorted) {
    if (!Number.isInteger(h.subtask) || h.subtask < 0 || h.subtask >= op.parallelism) {
      throw checkpointError('CHECKPOINT_CORRUPT', `operator '${op.uid}': operator state file ${h.file} belongs to subtask ${h.subtask}, outside [0, ${op.parallelism})`);
    }
  }
  if (newParallelism !== op.parallelism) {
    return { mode: 'rescaled', fromParallelism: op.parallelism, toParallelism: newParallelism, handles: sorted };
  }
  const subtasks: OperatorStateHandle[][] = Array.from({ length: newParallelism }, () => []);
  for (const h of sorted) subtasks[h.subtask]!.push(h);
  return { mode: 'same-parallelism', parallelism: newParallelism, subtasks };
}

function checkParallelism(op: OperatorCheckpointState, p: number): void {
  if (!Number.isInteger(p) || p < 1) {
    throw checkpointError('CHECKPOINT_INVALID', `cannot restore operator '${op.uid}' (${op.name}) at parallelism ${p}: parallelism must be a positive integer`);
  }
}
