/**
 * The on-disk checkpoint format as types and pure functions: the metadata document (what a
 * completed checkpoint or savepoint contains), its self-checksummed JSON encoding, its shape
 * validation, and the state-file header. No I/O here; `state-file.ts` and `storage.ts` do that.
 *
 * A checkpoint directory holds state files plus one `_metadata` file written last. Every file
 * reference in the metadata is a plain file name inside that directory, so a directory can be
 * moved or copied (a savepoint) and still restore. Source positions are in the metadata itself,
 * as plain JSON data.
 */
import { crc32 } from 'node:zlib';
import { SluiceError } from '@sluice/common';
import type { KeyGroupSectionRef, StateFileRef, StateShape } from '@sluice/protocol';
import { sourcePositionProblem, type SourceSubtaskPosition } from './source-position.js';

export const CHECKPOINT_FORMAT = 'sluice-checkpoint';
/**
 * Version of both the metadata document and the state-file header. Bump it when either changes
 * incompatibly; readers refuse versions newer than their own with `CHECKPOINT_VERSION`.
 *
 *   1 — first format.
 *   2 — keyed state sections pack numbers, strings, number-field records and timers
 *       (state/section-codec.ts).
 *   3 — each operator records what its state is (`states`), so a restore can refuse a
 *       checkpoint whose state the job would misread. A Sluice that reads format 2 at most
 *       would skip that check, so it must refuse these.
 *   4 — source positions (splits and watermark) are plain JSON in the metadata (`positions`)
 *       instead of v8-serialized state files. A Sluice that reads format 3 at most would find
 *       no source state and read every split from the start, so it must refuse these.
 * Formats 1 to 3 are still read: the file system storage converts their source state files into
 * positions when it reads them (legacy-positions.ts); the state of formats 1 and 2 restores unchecked.
 */
export const CHECKPOINT_FORMAT_VERSION = 4;
export const METADATA_FILE_NAME = '_metadata';
export const METADATA_TEMP_FILE_NAME = '_metadata.tmp';

/** "SLST": the first four bytes of every state file, followed by the format version (uint32 BE). */
const STATE_FILE_MAGIC = [0x53, 0x4c, 0x53, 0x54] as const;
export const STATE_FILE_HEADER_BYTES = 8;

/** Highest max parallelism Sluice accepts (the number of key groups), as in @sluice/api. */
const MAX_KEY_GROUPS = 32768;

/**
 * Error codes thrown by checkpoint storage. `CHECKPOINT_NOT_FOUND`, `_CORRUPT` and `_VERSION`
 * describe what is on disk; `_IO` is a failed file operation (retriable); `_INCOMPATIBLE` is a
 * checkpoint that cannot be restored into the job as configured; `_INCOMPLETE` refuses to commit
 * metadata whose state files are not all in the directory; `_INVALID` is a caller bug (bad
 * argument to a writer); `_EXISTS` refuses to overwrite a completed checkpoint.
 */
export type CheckpointErrorCode =
  | 'CHECKPOINT_NOT_FOUND'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_VERSION'
  | 'CHECKPOINT_IO'
  | 'CHECKPOINT_INCOMPATIBLE'
  | 'CHECKPOINT_INCOMPLETE'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_EXISTS';

export function checkpointError(code: CheckpointErrorCode, message: string, cause?: unknown): SluiceError {
  return new SluiceError(code, message, { retriable: code === 'CHECKPOINT_IO', cause });
}

/** Keyed state of one subtask: one file with a section per key group, sorted by key group. */
export interface KeyedStateHandle extends StateFileRef {
  subtask: number;
  keyGroups: KeyGroupSectionRef[];
}

/** Operator (non-keyed) state of one subtask: the whole file after the header is one opaque blob. */
export interface OperatorStateHandle extends StateFileRef {
  subtask: number;
}

/** The default uid of an operator without one: stable while the job's graph does not change. */
export function operatorUid(uid: string | undefined, nodeId: number): string {
  return uid ?? `node-${nodeId}`;
}

export interface OperatorCheckpointState {
  /** Stable operator id; restore matches operators by it. */
  uid: string;
  name: string;
  kind: string;
  parallelism: number;
  maxParallelism: number;
  keyed: KeyedStateHandle[];
  operator: OperatorStateHandle[];
  /** Subtasks that had already finished (end of input) when the checkpoint was taken. */
  finishedSubtasks: number[];
  /** What the operator's state is (see StateShape); absent when not recorded (formats 1 and 2). */
  states?: StateShape[];
  /**
   * Source operators: each subtask's splits and watermark, sorted by subtask (finished subtasks'
   * final positions included). Format 4 on; older formats had them in `operator` state files.
   */
  positions?: SourceSubtaskPosition[];
}

export interface CheckpointMetadata {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  jobId: string;
  jobName: string;
  checkpointId: number;
  kind: 'checkpoint' | 'savepoint';
  triggeredAt: number;
  completedAt: number;
  operators: OperatorCheckpointState[];
}

// ---- state-file header ----

export function encodeStateFileHeader(version = CHECKPOINT_FORMAT_VERSION): Uint8Array {
  const header = new Uint8Array(STATE_FILE_HEADER_BYTES);
  header.set(STATE_FILE_MAGIC, 0);
  new DataView(header.buffer).setUint32(4, version, false);
  return header;
}

/** Why `header` is not a readable state-file header, or undefined if it is one. */
export function stateFileHeaderProblem(header: Uint8Array): { code: 'CHECKPOINT_CORRUPT' | 'CHECKPOINT_VERSION'; reason: string } | undefined {
  if (header.length < STATE_FILE_HEADER_BYTES) return { code: 'CHECKPOINT_CORRUPT', reason: `is shorter than its ${STATE_FILE_HEADER_BYTES}-byte header` };
  for (let i = 0; i < STATE_FILE_MAGIC.length; i++) {
    if (header[i] !== STATE_FILE_MAGIC[i]) return { code: 'CHECKPOINT_CORRUPT', reason: 'does not start with the Sluice state-file magic "SLST"' };
  }
  const version = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(4, false);
  if (version === 0) return { code: 'CHECKPOINT_CORRUPT', reason: 'has format version 0 in its header' };
  if (version > CHECKPOINT_FORMAT_VERSION) {
    return { code: 'CHECKPOINT_VERSION', reason: `has state-file format version ${version}, newer than this Sluice supports (${CHECKPOINT_FORMAT_VERSION})` };
  }
  return undefined;
}

/**
 * A name usable as a file inside a checkpoint directory: one path segment, no separators, not
 * `.`/`..`, and not starting with `_` (reserved for `_metadata` and its temporary file).
 */
export function isValidStateFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !name.startsWith('_') &&
    !/[/\\\0]/.test(name)
  );
}

// ---- metadata encoding ----

/**
 * The metadata as JSON: the document's fields plus `checksum`, the CRC-32 of the compact JSON of
 * everything else. The reader recomputes it from the parsed document, so the check does not
 * depend on whitespace (`jq . _metadata` to read one). Compact, because with many key groups the
 * section lists dominate and indentation would double the size.
 */
export function encodeMetadata(meta: CheckpointMetadata): string {
  const body = canonicalMetadata(meta);
  return JSON.stringify({ ...body, checksum: bodyChecksum(body) }) + '\n';
}

/**
 * Parses and validates a metadata document. Throws `CHECKPOINT_CORRUPT` (unparseable, wrong
 * checksum, wrong shape) or `CHECKPOINT_VERSION` (written by a newer format), naming `source`.
 */
export function decodeMetadata(text: string, source: string): CheckpointMetadata {
  const corrupt = (why: string): SluiceError =>
    checkpointError('CHECKPOINT_CORRUPT', `checkpoint metadata ${source} is corrupt: ${why}; this checkpoint cannot be restored, use an older checkpoint or a savepoint`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw corrupt(`it is not valid JSON (truncated or overwritten?): ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw corrupt('it is not a JSON object');
  const doc = parsed as Record<string, unknown>;
  if (doc.format !== CHECKPOINT_FORMAT) {
    throw corrupt(`'format' is ${JSON.stringify(doc.format)}, expected "${CHECKPOINT_FORMAT}" — this is not a Sluice checkpoint`);
  }
  // The version is checked before the checksum and shape: a newer format may checksum or
  // structure its body differently, and "too new" is the useful message then.
  const version = doc.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw corrupt(`'version' must be a positive integer, got ${JSON.stringify(version)}`);
  if (version > CHECKPOINT_FORMAT_VERSION) {
    throw checkpointError(
      'CHECKPOINT_VERSION',
      `checkpoint ${source} has format version ${version}, but this Sluice reads format versions up to ${CHECKPOINT_FORMAT_VERSION}; ` +
        `it was written by a newer Sluice release — restore it with that release (or a newer one), or restore from an older checkpoint`,
    );
  }
  const { checksum, ...body } = doc;
  if (typeof checksum !== 'string') throw corrupt(`'checksum' is missing`);
  const expected = bodyChecksum(body);
  if (checksum !== expected) throw corrupt(`its checksum is ${checksum} but its content hashes to ${expected} (edited or damaged)`);
  try {
    return checkMetadataShape(body);
  } catch (err) {
    if (err instanceof ShapeProblem) throw corrupt(err.message);
    throw err;
  }
}

/**
 * Checks a metadata object a writer is about to commit, throwing `CHECKPOINT_INVALID` for a
 * document readers would refuse. Returns the canonical copy (known fields only).
 */
export function validateMetadataForWrite(meta: CheckpointMetadata): CheckpointMetadata {
  try {
    const clean = checkMetadataShape(meta as unknown as Record<string, unknown>);
    if (clean.version !== CHECKPOINT_FORMAT_VERSION) throw new ShapeProblem(`version must be ${CHECKPOINT_FORMAT_VERSION} (this writer's format), got ${clean.version}`);
    return clean;
  } catch (err) {
    if (err instanceof ShapeProblem) throw checkpointError('CHECKPOINT_INVALID', `refusing to write invalid checkpoint metadata for checkpoint ${String(meta.checkpointId)}: ${err.message}`);
    throw err;
  }
}

function bodyChecksum(body: object): string {
  return (crc32(JSON.stringify(body)) >>> 0).toString(16).padStart(8, '0');
}

/** The document with known fields only, in a fixed order. */
function canonicalMetadata(meta: CheckpointMetadata): CheckpointMetadata {
  return {
    format: meta.format,
    version: meta.version,
    jobId: meta.jobId,
    jobName: meta.jobName,
    checkpointId: meta.checkpointId,
    kind: meta.kind,
    triggeredAt: meta.triggeredAt,
    completedAt: meta.completedAt,
    operators: meta.operators.map((op) => ({
      uid: op.uid,
      name: op.name,
      kind: op.kind,
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      keyed: op.keyed.map((h) => ({
        file: h.file,
        bytes: h.bytes,
        crc32: h.crc32,
        subtask: h.subtask,
        keyGroups: h.keyGroups.map((s) => ({ keyGroup: s.keyGroup, offset: s.offset, length: s.length, crc32: s.crc32 })),
      })),
      operator: op.operator.map((h) => ({ file: h.file, bytes: h.bytes, crc32: h.crc32, subtask: h.subtask })),
      finishedSubtasks: [...op.finishedSubtasks],
      ...(op.states === undefined ? {} : { states: op.states.map((x) => (x.type === undefined ? { name: x.name, kind: x.kind } : { name: x.name, kind: x.kind, type: x.type })) }),
      ...(op.positions === undefined
        ? {}
        : { positions: op.positions.map((p) => (p.watermark === undefined ? { subtask: p.subtask, splits: p.splits } : { subtask: p.subtask, splits: p.splits, watermark: p.watermark })) }),
    })),
  };
}

// ---- shape validation ----

class ShapeProblem extends Error {}

function fail(at: string, what: string): never {
  throw new ShapeProblem(`${at} ${what}`);
}

function asObject(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, `must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

function asArray(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) fail(at, `must be an array, got ${describe(v)}`);
  return v;
}

function asString(v: unknown, at: string, nonEmpty = false): string {
  if (typeof v !== 'string' || (nonEmpty && v.length === 0)) fail(at, `must be a ${nonEmpty ? 'non-empty ' : ''}string, got ${describe(v)}`);
  return v;
}

function asInt(v: unknown, at: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(at, `must be an integer in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

function asTimestamp(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(at, `must be a non-negative number of epoch milliseconds, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

const UINT32_MAX = 0xffffffff;

function checkMetadataShape(doc: Record<string, unknown>): CheckpointMetadata {
  if (doc.format !== CHECKPOINT_FORMAT) fail('format', `must be "${CHECKPOINT_FORMAT}", got ${describe(doc.format)}`);
  const kind = doc.kind;
  if (kind !== 'checkpoint' && kind !== 'savepoint') fail('kind', `must be "checkpoint" or "savepoint", got ${describe(kind)}`);
  const uids = new Set<string>();
  const operators = asArray(doc.operators, 'operators').map((raw, i) => {
    const op = checkOperator(raw, `operators[${i}]`);
    if (uids.has(op.uid)) fail(`operators[${i}].uid`, `${describe(op.uid)} appears twice`);
    uids.add(op.uid);
    return op;
  });
  return {
    format: CHECKPOINT_FORMAT,
    version: asInt(doc.version, 'version', 1),
    jobId: asString(doc.jobId, 'jobId', true),
    jobName: asString(doc.jobName, 'jobName'),
    checkpointId: asInt(doc.checkpointId, 'checkpointId', 0),
    kind,
    triggeredAt: asTimestamp(doc.triggeredAt, 'triggeredAt'),
    completedAt: asTimestamp(doc.completedAt, 'completedAt'),
    operators,
  };
}

function checkOperator(raw: unknown, at: string): OperatorCheckpointState {
  const o = asObject(raw, at);
  const parallelism = asInt(o.parallelism, `${at}.parallelism`, 1, MAX_KEY_GROUPS);
  const maxParallelism = asInt(o.maxParallelism, `${at}.maxParallelism`, parallelism, MAX_KEY_GROUPS);
  const seenGroups = new Set<number>();
  const keyed = asArray(o.keyed, `${at}.keyed`).map((h, i) => {
    const where = `${at}.keyed[${i}]`;
    const handle = checkFileHandle(h, where);
    const subtask = asInt(asObject(h, where).subtask, `${where}.subtask`, 0, parallelism - 1);
    let previous = -1;
    const keyGroups = asArray(asObject(h, where).keyGroups, `${where}.keyGroups`).map((s, j) => {
      const sw = `${where}.keyGroups[${j}]`;
      const so = asObject(s, sw);
      const keyGroup = asInt(so.keyGroup, `${sw}.keyGroup`, 0, maxParallelism - 1);
      if (keyGroup <= previous) fail(`${sw}.keyGroup`, `must be greater than the previous section's key group ${previous} (sections are sorted, each key group once)`);
      if (seenGroups.has(keyGroup)) fail(`${sw}.keyGroup`, `${keyGroup} is also claimed by another keyed state handle of this operator`);
      previous = keyGroup;
      seenGroups.add(keyGroup);
      const offset = asInt(so.offset, `${sw}.offset`, STATE_FILE_HEADER_BYTES, handle.bytes);
      const length = asInt(so.length, `${sw}.length`, 0, handle.bytes - offset);
      return { keyGroup, offset, length, crc32: asInt(so.crc32, `${sw}.crc32`, 0, UINT32_MAX) };
    });
    return { ...handle, subtask, keyGroups };
  });
  const operator = asArray(o.operator, `${at}.operator`).map((h, i) => {
    const where = `${at}.operator[${i}]`;
    return { ...checkFileHandle(h, where), subtask: asInt(asObject(h, where).subtask, `${where}.subtask`, 0, parallelism - 1) };
  });
  const finished = new Set<number>();
  const finishedSubtasks = asArray(o.finishedSubtasks, `${at}.finishedSubtasks`).map((v, i) => {
    const s = asInt(v, `${at}.finishedSubtasks[${i}]`, 0, parallelism - 1);
    if (finished.has(s)) fail(`${at}.finishedSubtasks[${i}]`, `${s} appears twice`);
    finished.add(s);
    return s;
  });
  const op: OperatorCheckpointState = {
    uid: asString(o.uid, `${at}.uid`, true),
    name: asString(o.name, `${at}.name`),
    kind: asString(o.kind, `${at}.kind`),
    parallelism,
    maxParallelism,
    keyed,
    operator,
    finishedSubtasks,
  };
  if (o.states !== undefined) op.states = checkStates(o.states, `${at}.states`);
  if (o.positions !== undefined) op.positions = checkPositions(o.positions, `${at}.positions`, parallelism);
  return op;
}

function checkPositions(raw: unknown, at: string, parallelism: number): SourceSubtaskPosition[] {
  let previous = -1;
  return asArray(raw, at).map((v, i) => {
    const where = `${at}[${i}]`;
    const subtask = asInt(asObject(v, where).subtask, `${where}.subtask`, 0, parallelism - 1);
    if (subtask <= previous) fail(`${where}.subtask`, `must be greater than the previous position's subtask ${previous} (sorted, each subtask once)`);
    previous = subtask;
    const problem = sourcePositionProblem(v, where);
    if (problem !== undefined) throw new ShapeProblem(problem);
    const p = v as SourceSubtaskPosition;
    return p.watermark === undefined ? { subtask, splits: p.splits } : { subtask, splits: p.splits, watermark: p.watermark };
  });
}

function checkStates(raw: unknown, at: string): StateShape[] {
  const seen = new Set<string>();
  return asArray(raw, at).map((v, i) => {
    const where = `${at}[${i}]`;
    const s = asObject(v, where);
    const shape: StateShape = { name: asString(s.name, `${where}.name`, true), kind: asString(s.kind, `${where}.kind`, true) };
    if (s.type !== undefined) shape.type = asString(s.type, `${where}.type`, true);
    // A name is unique within its kind's family (keyed tables, or the operator's own state).
    const key = `${shape.kind}\0${shape.name}`;
    if (seen.has(key)) fail(`${where}.name`, `${describe(shape.name)} appears twice as ${shape.kind} state`);
    seen.add(key);
    return shape;
  });
}

function checkFileHandle(raw: unknown, at: string): StateFileRef {
  const h = asObject(raw, at);
  const file = asString(h.file, `${at}.file`, true);
  if (!isValidStateFileName(file)) fail(`${at}.file`, `${describe(file)} is not a plain file name inside the checkpoint directory`);
  return {
    file,
    bytes: asInt(h.bytes, `${at}.bytes`, STATE_FILE_HEADER_BYTES),
    crc32: asInt(h.crc32, `${at}.crc32`, 0, UINT32_MAX),
  };
}
