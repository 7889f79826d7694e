/**
 * Planning a restore: which part of a checkpoint or savepoint each subtask of the job reads.
 * Operators match by uid. Keyed state goes by key-group ranges, so any parallelism works (the
 * max parallelism must stay). Source positions come from the metadata, as plain data: at the
 * same parallelism each subtask gets its own splits back; otherwise all splits are dealt out
 * again by the source's assignment rule. No state file is read here. Other operator state stays
 * with its subtask, or goes to subtask 0 after a rescale. State for operators the job no longer
 * has is refused unless the user allows it; state the job would misread is always refused
 * (compatibility.ts).
 */
import { SluiceError } from '@sluice/common';
import { checkStateFits, holdsState, isKeyedStateShape } from './compatibility.js';
import type { JobGraph, JobVertex, OperatorRestore, SubtaskRestore } from '@sluice/protocol';
import { assignKeyedState, assignOperatorState, operatorUid, positionWatermark, type CheckpointMetadata, type OperatorCheckpointState } from '@sluice/checkpoint';

export interface RestorePlan {
  checkpointId: number;
  /** Per vertex id, per subtask: what to restore (undefined: nothing). */
  subtasks: Map<string, (SubtaskRestore | undefined)[]>;
  /** Per source vertex id whose splits come from the checkpoint: splits per subtask. */
  splits: Map<string, unknown[][]>;
  /** Sources whose event time in the checkpoint is at its end (a savepoint taken with drain). */
  drainedSources: string[];
  /** For the log when a job starts from it: another job's name (warnings), state restored unchecked (notes). */
  warnings: string[];
  notes: string[];
}

export interface PlanRestoreOptions {
  allowNonRestoredState: boolean;
  /** Deals restored splits of a source vertex to `parallelism` subtasks (the source's own rule). */
  assignSplits(vertexId: string, parallelism: number, splits: unknown[]): Promise<unknown[][]>;
}

/** Operator kinds that can put state into a checkpoint (source positions, keyed state, sink state). */
const STATEFUL_KINDS: ReadonlySet<string> = new Set(['source', 'reduce', 'aggregate', 'keyedProcess', 'keyedCoProcess', 'window', 'sink']);

/**
 * Operators that can hold state but have no uid of their own, as `'name' (node-N)`. Checkpoints
 * know them by their position in the graph, so their state restores only into the same graph.
 */
export function statefulOperatorsWithoutUid(graph: JobGraph): string[] {
  const out: string[] = [];
  for (const v of graph.vertices) {
    for (const info of v.operators) {
      if (info.uid === undefined && STATEFUL_KINDS.has(info.kind)) out.push(`'${info.name}' (${operatorUid(undefined, info.nodeId)})`);
    }
  }
  return out;
}

function hasState(op: OperatorCheckpointState): boolean {
  return holdsState(op) || op.finishedSubtasks.length > 0;
}

/**
 * `dir` is the checkpoint's location: subtasks read their state files from it. `meta` must hold
 * source positions as plain data (CheckpointStorage converts older formats when it reads them).
 */
export async function planRestore(dir: string, meta: CheckpointMetadata, graph: JobGraph, options: PlanRestoreOptions): Promise<RestorePlan> {
  const byUid = new Map(meta.operators.map((o) => [o.uid, o] as const));
  const jobUids = new Set<string>();
  for (const v of graph.vertices) for (const info of v.operators) jobUids.add(operatorUid(info.uid, info.nodeId));
  const unmatched = meta.operators.filter((o) => !jobUids.has(o.uid) && holdsState(o));
  if (unmatched.length > 0 && !options.allowNonRestoredState) {
    throw new SluiceError(
      'SAVEPOINT_MISMATCH',
      `${dir} holds state for ${unmatched.length} operator(s) this job does not have: ${unmatched.map((o) => `uid '${o.uid}' (${o.name})`).join(', ')}. ` +
        `Give those operators the same .uid(...) as in the job that wrote it, or pass --allow-non-restored-state to drop their state.` +
        (unmatched.some((o) => /^node-\d+$/.test(o.uid))
          ? ' (A node-<n> uid is an operator that had no .uid(...): it is known by its position in the graph, which this job changed.)'
          : ''),
    );
  }
  const { warnings, notes } = checkStateFits(dir, meta, graph);
  const plan: RestorePlan = { checkpointId: meta.checkpointId, subtasks: new Map(), splits: new Map(), drainedSources: [], warnings, notes };
  for (const v of graph.vertices) {
    const perSubtask: SubtaskRestore[] = Array.from({ length: v.parallelism }, () => ({ checkpointId: meta.checkpointId, operators: {} }));
    for (const [index, info] of v.operators.entries()) {
      const op = byUid.get(operatorUid(info.uid, info.nodeId));
      if (op === undefined || !hasState(op)) continue;
      const keyedStates = op.states?.filter(isKeyedStateShape);
      const entries: OperatorRestore[] = Array.from({ length: v.parallelism }, () => ({ uid: op.uid, keyed: [], operator: [], ...(keyedStates === undefined ? {} : { states: keyedStates }) }));
      if (op.keyed.length > 0) {
        for (const a of assignKeyedState(op, v.parallelism, v.maxParallelism)) {
          entries[a.subtask]!.keyed = a.slices.map((s) => ({ dir, file: s.handle.file, bytes: s.handle.bytes, crc32: s.handle.crc32, keyGroups: s.sections }));
        }
      }
      if (index === 0 && v.isSource) {
        await restoreSource(op, v, perSubtask, plan, options);
      } else if (op.operator.length > 0) {
        const a = assignOperatorState(op, v.parallelism);
        if (a.mode === 'same-parallelism') a.subtasks.forEach((handles, i) => (entries[i]!.operator = handles.map((h) => ({ dir, file: h.file, bytes: h.bytes, crc32: h.crc32 }))));
        else entries[0]!.operator = a.handles.map((h) => ({ dir, file: h.file, bytes: h.bytes, crc32: h.crc32 }));
      }
      entries.forEach((e, i) => {
        if (e.keyed.length > 0 || e.operator.length > 0) perSubtask[i]!.operators[info.nodeId] = e;
      });
    }
    plan.subtasks.set(
      v.id,
      perSubtask.map((r) => (Object.keys(r.operators).length > 0 || r.sourceWatermark !== undefined ? r : undefined)),
    );
  }
  return plan;
}

/** Source positions and event time: splits back to their subtasks, or dealt out again after a rescale. */
async function restoreSource(op: OperatorCheckpointState, v: JobVertex, perSubtask: SubtaskRestore[], plan: RestorePlan, options: PlanRestoreOptions): Promise<void> {
  const states = (op.positions ?? []).map((p) => ({ subtask: p.subtask, splits: p.splits, watermark: positionWatermark(p) }));
  if (states.length > 0 && states.every((s) => s.watermark === Infinity)) plan.drainedSources.push(v.name);
  if (op.parallelism === v.parallelism) {
    const splits: unknown[][] = Array.from({ length: v.parallelism }, () => []);
    for (const { subtask, splits: own, watermark } of states) {
      splits[subtask] = own;
      if (watermark > -Infinity) perSubtask[subtask]!.sourceWatermark = watermark;
    }
    plan.splits.set(v.id, splits);
    return;
  }
  const all = states.flatMap((s) => s.splits);
  plan.splits.set(v.id, await options.assignSplits(v.id, v.parallelism, all));
  const live = states.map((s) => s.watermark).filter((w) => w < Infinity);
  const floor = live.length > 0 ? Math.min(...live) : states.length > 0 ? Infinity : -Infinity;
  // All at the end (drained, or every input over): the end, as at the same parallelism.
  if (floor > -Infinity) for (const r of perSubtask) r.sourceWatermark = floor;
}
