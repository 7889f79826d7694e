/**
 * Whether a checkpoint's state fits the job it is about to be restored into, as far as the
 * JobMaster can tell before deploying anything: every operator matched by uid that has state
 * must be of the same kind, and what its definition says about that state (a source's split
 * type, a sink's type, a window's contents) must agree. Keyed state declared in `open()` is
 * checked by the subtasks when it is declared (HeapKeyedStateBackend). None of this can be
 * waived: `--allow-non-restored-state` drops the state of operators the job no longer has, it
 * never feeds an operator state it would misread.
 */
import { SluiceError } from '@sluice/common';
import type { JobGraph, StateShape } from '@sluice/protocol';
import { operatorUid, type CheckpointMetadata, type OperatorCheckpointState } from '@sluice/checkpoint';

/** Kinds of the operator's own state, which the job graph describes (the rest are keyed, see StateShape). */
const OPERATOR_STATE_KINDS: ReadonlySet<string> = new Set(['source', 'sink', 'window']);

export function isKeyedStateShape(s: StateShape): boolean {
  return !OPERATOR_STATE_KINDS.has(s.kind);
}

/** Restorable state: state files or source positions of its own (finished subtasks alone restore nothing). */
export function holdsState(op: OperatorCheckpointState): boolean {
  return op.keyed.length > 0 || op.operator.length > 0 || (op.positions?.length ?? 0) > 0;
}

/**
 * Throws `STATE_INCOMPATIBLE`, naming every operator (uid and name), state and both shapes, when
 * `meta`'s state does not fit `graph`. Returns notes for the log: the job name differs, or the
 * checkpoint recorded no state shapes (formats 1 and 2), so only operator kinds were compared.
 */
export function checkStateFits(dir: string, meta: CheckpointMetadata, graph: JobGraph): { warnings: string[]; notes: string[] } {
  const byUid = new Map(meta.operators.map((o) => [o.uid, o] as const));
  const problems: string[] = [];
  for (const v of graph.vertices) {
    for (const info of v.operators) {
      const uid = operatorUid(info.uid, info.nodeId);
      const op = byUid.get(uid);
      if (op === undefined || !holdsState(op)) continue;
      const who = `operator '${info.name}' (uid '${uid}')`;
      if (op.kind !== info.kind) {
        problems.push(`${who} is a ${info.kind} operator, but the checkpoint holds the state of a ${op.kind} operator ('${op.name}') under that uid`);
        continue;
      }
      for (const want of info.states ?? []) {
        const had = op.states?.find((s) => s.kind === want.kind && s.name === want.name);
        // Unknown on either side (a plain-object source, an older checkpoint): nothing to compare.
        if (had?.type === undefined || want.type === undefined || had.type === want.type) continue;
        problems.push(`${who}: its ${describeOwnState(want)} ${describeType(had)} in the checkpoint, but ${describeType(want)} in this job`);
      }
    }
  }
  if (problems.length > 0) {
    throw new SluiceError(
      'STATE_INCOMPATIBLE',
      `${dir} does not fit job '${graph.jobName}': ${problems.join('; ')}. Restore a checkpoint or savepoint of this job, or give such an operator a new .uid(...) ` +
        `and pass --allow-non-restored-state to start it without the old state (--allow-non-restored-state alone does not drop the state of an operator the job still has)`,
    );
  }
  const warnings: string[] = [];
  const notes: string[] = [];
  if (meta.jobName !== graph.jobName) {
    warnings.push(
      `${dir} is a ${meta.kind} of job '${meta.jobName}', restored into job '${graph.jobName}': its state fits the operators with the same uids, ` +
        `but make sure this is the ${meta.kind} you meant`,
    );
  }
  if (meta.operators.some((o) => holdsState(o) && o.states === undefined)) {
    notes.push(
      `${dir} was written in checkpoint format ${meta.version}, which does not record what each operator's state is: only operator kinds ` +
        `were compared with this job, and its keyed state restores unchecked`,
    );
  }
  return { warnings, notes };
}

function describeOwnState(s: StateShape): string {
  switch (s.kind) {
    case 'source':
      return 'source splits';
    case 'window':
      return 'window contents';
    case 'sink':
      return 'sink state';
    default:
      return `${s.kind} state '${s.name}'`;
  }
}

/** "are generator splits", "are reduced values of fixed windows", "are the state of a KafkaSink". */
function describeType(s: StateShape): string {
  switch (s.kind) {
    case 'source':
      return `are ${s.type} splits`;
    case 'window':
      return `are ${s.type}`;
    case 'sink':
      return `are the state of a ${s.type}`;
    default:
      return `are of type ${s.type}`;
  }
}
