/**
 * Checkpoints of formats 1 to 3 kept a source subtask's position as a v8-serialized state file
 * (`{ splits, watermark }`). Reading one, the storage converts those files into the plain
 * positions format 4 records in `_metadata`, so the JobMaster above it sees one shape and never
 * deserializes a worker's bytes. This file is the only place that still knows the old encoding.
 */
import { deserialize } from 'node:v8';
import { describeError, SluiceError } from '@sluice/common';
import { checkpointError, type CheckpointMetadata, type OperatorCheckpointState } from './format.js';
import { takeSourcePosition, type SourceSubtaskPosition } from './source-position.js';
import { readWholeFile } from './state-file.js';

/** First format whose metadata holds source positions itself. */
export const POSITIONS_IN_METADATA_VERSION = 4;

/**
 * `meta` with every source operator's state files turned into `positions` (and no longer listed
 * as operator state); `meta` itself when it is format 4 or later. Throws `CHECKPOINT_CORRUPT`
 * for a file that does not decode, and `CHECKPOINT_VERSION` for splits that plain data cannot
 * hold (the release that wrote the checkpoint can still restore it).
 */
export async function withPlainSourcePositions(location: string, meta: CheckpointMetadata): Promise<CheckpointMetadata> {
  if (meta.version >= POSITIONS_IN_METADATA_VERSION) return meta;
  if (!meta.operators.some(isLegacySource)) return meta;
  const operators: OperatorCheckpointState[] = [];
  for (const op of meta.operators) operators.push(isLegacySource(op) ? await convert(location, meta, op) : op);
  return { ...meta, operators };
}

function isLegacySource(op: OperatorCheckpointState): boolean {
  return op.kind === 'source' && op.operator.length > 0 && op.positions === undefined;
}

async function convert(location: string, meta: CheckpointMetadata, op: OperatorCheckpointState): Promise<OperatorCheckpointState> {
  const positions: SourceSubtaskPosition[] = [];
  for (const h of [...op.operator].sort((a, b) => a.subtask - b.subtask)) {
    const where = `the state of source '${op.uid}' (${op.name}) subtask ${h.subtask} in ${location} (file ${h.file}, checkpoint format ${meta.version})`;
    if (positions.at(-1)?.subtask === h.subtask) throw checkpointError('CHECKPOINT_CORRUPT', `${where} is recorded twice for that subtask`);
    const bytes = await readWholeFile(location, h);
    let state: unknown;
    try {
      state = deserialize(bytes);
    } catch (err) {
      throw checkpointError('CHECKPOINT_CORRUPT', `${where} does not decode: ${describeError(err)}`, err);
    }
    const s = state as { splits?: unknown; watermark?: unknown } | null;
    if (typeof s !== 'object' || s === null || !Array.isArray(s.splits) || typeof s.watermark !== 'number') {
      throw checkpointError('CHECKPOINT_CORRUPT', `${where} is not a source position ({ splits, watermark })`);
    }
    try {
      positions.push({ subtask: h.subtask, ...takeSourcePosition(s.splits, s.watermark, `'${op.uid}' (${op.name})`) });
    } catch (err) {
      if (!(err instanceof SluiceError) || err.code !== 'SOURCE_POSITION_NOT_PLAIN') throw err;
      throw checkpointError(
        'CHECKPOINT_VERSION',
        `${location} was written in checkpoint format ${meta.version}, and ${where} cannot be converted to format ${POSITIONS_IN_METADATA_VERSION}'s plain source positions: ` +
          `${err.message}. Restore it with the Sluice release that wrote it and take a new savepoint there, or start this job without it`,
        err,
      );
    }
  }
  return { ...op, operator: [], positions };
}
