/**
 * Source positions as checkpoints carry them: a source subtask's splits (plain JSON data) and
 * its watermark, reported in its acknowledgement and recorded in `_metadata` (format 4 on), so
 * the JobMaster deals splits out on restore without reading any state file.
 */
import { SluiceError } from '@sluice/common';
import type { SourcePosition } from '@sluice/protocol';
import { plainDataProblem } from './plain-data.js';

/** One source subtask's position in a checkpoint's metadata. */
export interface SourceSubtaskPosition extends SourcePosition {
  subtask: number;
}

/**
 * A source position from what a source operator snapshots. Validates and copies at once (the
 * reader's objects keep changing after the barrier); throws `SOURCE_POSITION_NOT_PLAIN`, naming
 * `source` and what inside the splits is the problem, when they are not plain JSON data.
 */
export function takeSourcePosition(splits: readonly unknown[], watermark: number, source: string): SourcePosition {
  const problem = plainDataProblem(splits, 'splits');
  if (problem !== undefined) {
    throw new SluiceError(
      'SOURCE_POSITION_NOT_PLAIN',
      `source ${source} reported splits that are not plain JSON data: ${problem}. A checkpoint stores a source's splits as JSON, ` +
        `so its reader's snapshotState() must return splits made of objects, arrays, strings, finite numbers, booleans and null`,
    );
  }
  const position: SourcePosition = { splits: JSON.parse(JSON.stringify(splits)) as unknown[] };
  const encoded = encodeWatermark(watermark);
  if (encoded !== undefined) position.watermark = encoded;
  return position;
}

/** The watermark of a position: -Infinity when none was sent, +Infinity at the end. */
export function positionWatermark(p: Pick<SourcePosition, 'watermark'>): number {
  if (p.watermark === undefined) return -Infinity;
  return p.watermark === 'end' ? Infinity : p.watermark;
}

/** JSON has no infinities: none yet is left out, the end is 'end'. NaN never comes from a watermark multiplexer; it counts as none. */
export function encodeWatermark(watermark: number): number | 'end' | undefined {
  if (watermark === Infinity) return 'end';
  return Number.isFinite(watermark) ? watermark : undefined;
}

/** Why `value` is not a valid SourcePosition (naming where, from `at`), or undefined if it is one. */
export function sourcePositionProblem(value: unknown, at: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${at} must be an object`;
  const p = value as Record<string, unknown>;
  if (!Array.isArray(p.splits)) return `${at}.splits must be an array`;
  const w = p.watermark;
  if (w !== undefined && w !== 'end' && (typeof w !== 'number' || !Number.isFinite(w))) return `${at}.watermark must be a finite number or "end", got ${String(w)}`;
  return plainDataProblem(p.splits, `${at}.splits`);
}
