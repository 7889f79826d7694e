/**
 * Checkpoint storage on a file system (local disk or a mount shared by the JobMaster and every
 * TaskManager). Layout: `<root>/<jobId>/chk-<id>/` per checkpoint; a savepoint is any directory
 * the user names. A directory is complete once its `_metadata` exists and is valid; that file is
 * written last and atomically (temp file, fsync, rename, fsync the directory), so a crash at any
 * moment leaves either a complete checkpoint or a partial directory that readers skip.
 */
import { open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError, SluiceError, ConfigurationError, type Logger } from '@sluice/common';
import type { StateFileRef } from '@sluice/protocol';
import {
  checkpointError,
  decodeMetadata,
  encodeMetadata,
  METADATA_FILE_NAME,
  METADATA_TEMP_FILE_NAME,
  validateMetadataForWrite,
  type CheckpointMetadata,
} from './format.js';
import { checksumStateFile, errnoCode } from './state-file.js';

const CHECKPOINT_DIR_PATTERN = /^chk-(0|[1-9][0-9]*)$/;
const VERIFY_CONCURRENCY = 4;

/** `<root>/<jobId>/chk-<id>`. The job id becomes a directory name, so it must be one plain segment. */
export function checkpointDir(root: string, jobId: string, id: number): string {
  return join(jobCheckpointsDir(root, jobId), `chk-${checkCheckpointId(id)}`);
}

function jobCheckpointsDir(root: string, jobId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(jobId)) {
    throw new ConfigurationError(`job id ${JSON.stringify(jobId)} cannot name a checkpoint directory: use letters, digits, '.', '_' and '-' only`);
  }
  return join(root, jobId);
}

function checkCheckpointId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 0) throw checkpointError('CHECKPOINT_INVALID', `checkpoint id must be a non-negative integer, got ${id}`);
  return id;
}

/**
 * Commits a checkpoint: checks the metadata, checks that every state file it references is in
 * `dir` with the recorded size (so a TaskManager that wrote somewhere the JobMaster cannot see is
 * caught now, not at restore), then writes `_metadata` atomically. Refuses to replace an
 * existing `_metadata`.
 */
export async function writeMetadata(dir: string, meta: CheckpointMetadata): Promise<void> {
  const clean = validateMetadataForWrite(meta);
  const target = join(dir, METADATA_FILE_NAME);
  if (await exists(target)) {
    throw checkpointError('CHECKPOINT_EXISTS', `${dir} already holds a completed checkpoint or savepoint (${METADATA_FILE_NAME} exists); write each checkpoint into a new, empty directory`);
  }
  try {
    await verifyCheckpoint(dir, clean, { checksums: false });
  } catch (err) {
    if (err instanceof SluiceError && err.code === 'CHECKPOINT_CORRUPT') {
      throw checkpointError(
        'CHECKPOINT_INCOMPLETE',
        `cannot complete checkpoint ${clean.checkpointId}: ${err.message}. The checkpoint directory must be one file system (or shared mount) visible at the same path to the JobMaster and every TaskManager`,
        err,
      );
    }
    throw err;
  }
  const temp = join(dir, METADATA_TEMP_FILE_NAME);
  try {
    const fh = await open(temp, 'w');
    try {
      await fh.writeFile(encodeMetadata(clean), 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, target);
    // The rename is durable only once the directory is synced; the parent too, because
    // `chk-<id>` itself may be new.
    await fsyncDirectory(dir);
    await fsyncDirectory(dirname(dir));
  } catch (err) {
    throw checkpointError('CHECKPOINT_IO', `could not write ${target}: ${describeError(err)}`, err);
  }
}

/**
 * Reads and validates the metadata of a checkpoint or savepoint, given its directory or its
 * `_metadata` file.
 */
export async function readMetadata(path: string): Promise<CheckpointMetadata> {
  return (await resolveCheckpoint(path)).meta;
}

/** Like readMetadata, also returning the directory the state files are in. */
export async function resolveCheckpoint(path: string): Promise<{ dir: string; meta: CheckpointMetadata }> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') {
      throw checkpointError('CHECKPOINT_NOT_FOUND', `no checkpoint or savepoint at ${path}: the path does not exist`, err);
    }
    throw checkpointError('CHECKPOINT_IO', `could not access ${path}: ${describeError(err)}`, err);
  }
  const dir = info.isDirectory() ? path : dirname(path);
  const file = info.isDirectory() ? join(path, METADATA_FILE_NAME) : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      const interrupted = await exists(join(dir, METADATA_TEMP_FILE_NAME));
      throw checkpointError(
        'CHECKPOINT_NOT_FOUND',
        `${dir} has no ${METADATA_FILE_NAME} file: it is not a checkpoint or savepoint directory, or the checkpoint never completed` +
          (interrupted ? ` (writing ${METADATA_FILE_NAME} was interrupted)` : ''),
        err,
      );
    }
    throw checkpointError('CHECKPOINT_IO', `could not read ${file}: ${describeError(err)}`, err);
  }
  return { dir, meta: decodeMetadata(text, file) };
}

export interface VerifyOptions {
  /** Also stream every file through CRC-32 (reads all state). Default true; false checks sizes only. */
  checksums?: boolean;
}

/**
 * Checks that every state file `meta` references is in `dir` with the recorded size, header and
 * (by default) CRC-32. Throws `CHECKPOINT_CORRUPT` naming the first bad file.
 */
export async function verifyCheckpoint(dir: string, meta: CheckpointMetadata, options: VerifyOptions = {}): Promise<void> {
  const checksums = options.checksums ?? true;
  const files = new Map<string, { handle: StateFileRef; owner: string }>();
  for (const op of meta.operators) {
    for (const h of [...op.keyed, ...op.operator]) {
      const owner = `operator '${op.uid}' subtask ${h.subtask}`;
      const known = files.get(h.file);
      if (known === undefined) files.set(h.file, { handle: h, owner });
      else if (known.handle.bytes !== h.bytes || known.handle.crc32 !== h.crc32) {
        throw checkpointError('CHECKPOINT_CORRUPT', `checkpoint ${dir} is corrupt: state file ${h.file} is recorded with different sizes or checksums by ${known.owner} and ${owner}`);
      }
    }
  }
  // Files are checked a few at a time, taken in metadata order; after a failure no new file is
  // started, and the failure of the earliest file is reported, so the message is deterministic.
  const items = [...files.values()];
  const failures: { index: number; error: unknown }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && failures.length === 0) {
      const index = next++;
      try {
        await checkFile(dir, items[index]!.handle, checksums);
      } catch (error) {
        failures.push({ index, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(VERIFY_CONCURRENCY, items.length) }, worker));
  if (failures.length === 0) return;
  const first = failures.reduce((a, b) => (b.index < a.index ? b : a));
  const err = first.error;
  if (err instanceof SluiceError && err.code === 'CHECKPOINT_CORRUPT') {
    throw checkpointError('CHECKPOINT_CORRUPT', `checkpoint ${dir} is corrupt: ${err.message} (state of ${items[first.index]!.owner})`, err);
  }
  throw err;
}

async function checkFile(dir: string, handle: StateFileRef, checksums: boolean): Promise<void> {
  if (!checksums) return checkSize(dir, handle);
  const crc = await checksumStateFile(dir, handle);
  if (crc !== handle.crc32) {
    throw checkpointError('CHECKPOINT_CORRUPT', `state file ${join(dir, handle.file)} has CRC-32 ${crc.toString(16)}, the metadata records ${handle.crc32.toString(16)}`);
  }
}

async function checkSize(dir: string, handle: StateFileRef): Promise<void> {
  const path = join(dir, handle.file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw checkpointError('CHECKPOINT_CORRUPT', `state file ${path} is missing`, err);
    throw checkpointError('CHECKPOINT_IO', `could not access state file ${path}: ${describeError(err)}`, err);
  }
  if (size !== handle.bytes) {
    throw checkpointError('CHECKPOINT_CORRUPT', `state file ${path} is ${size} bytes, the metadata records ${handle.bytes} (${size < handle.bytes ? 'truncated' : 'overwritten or appended to'})`);
  }
}

export interface FindCheckpointOptions {
  /** CRC-check every state file before choosing a checkpoint (reads all state). Default false: sizes only; reads still check CRCs. */
  verifyChecksums?: boolean;
}

/**
 * The newest complete checkpoint of a job, or undefined if there is none. Candidates are tried
 * newest first (numeric id order); a partial or corrupt one is skipped with one warning and never
 * returned. A checkpoint written by a newer Sluice, or one that cannot be read because of an I/O
 * error, is not skipped: the error is thrown, because silently restoring older state would
 * replay input the newer checkpoint's sinks may already have committed.
 */
export async function findLatestCheckpoint(
  root: string,
  jobId: string,
  logger: Logger,
  options: FindCheckpointOptions = {},
): Promise<{ dir: string; meta: CheckpointMetadata } | undefined> {
  for (const { id, dir } of await listCheckpointDirs(root, jobId)) {
    const verdict = await inspectCheckpoint(dir, id, jobId, options.verifyChecksums ?? false);
    if (verdict.status === 'complete') return { dir, meta: verdict.meta };
    logger.warn(`skipping checkpoint ${dir}: ${verdict.reason}`, { dir, checkpointId: id });
  }
  return undefined;
}

export interface PruneResult {
  /** Checkpoint ids left in place, newest first. */
  kept: number[];
  /** Checkpoint ids deleted. */
  deleted: number[];
  /** Checkpoint ids whose deletion failed (logged); a later prune retries them. */
  failed: number[];
}

/**
 * Keeps the newest `retain` complete checkpoints of a job. Deletes older complete ones and every
 * partial directory older than the newest complete one; a partial directory newer than that may
 * be a checkpoint in progress and is kept. Only directories named `chk-<n>` are ever touched.
 * Per-directory failures are logged, not thrown: pruning must not fail a checkpoint.
 */
export async function pruneCheckpoints(root: string, jobId: string, retain: number, logger: Logger): Promise<PruneResult> {
  if (!Number.isInteger(retain) || retain < 1) {
    throw new ConfigurationError(`checkpoints to retain must be an integer ≥ 1 (the newest checkpoint is what a restart restores), got ${retain}`);
  }
  const result: PruneResult = { kept: [], deleted: [], failed: [] };
  let complete = 0;
  for (const { id, dir } of await listCheckpointDirs(root, jobId)) {
    // Once `retain` complete checkpoints are kept, everything older goes, complete or not,
    // so older metadata is never read.
    let remove = complete >= retain;
    if (!remove) {
      const verdict = await inspectCheckpoint(dir, id, jobId, false).catch((err: unknown) => ({ status: 'unreadable' as const, reason: describeError(err) }));
      if (verdict.status === 'complete') complete++;
      else if (verdict.status === 'partial') remove = complete > 0;
      else logger.warn(`not pruning checkpoint ${dir}: ${verdict.reason}`, { dir, checkpointId: id });
    }
    if (!remove) {
      result.kept.push(id);
      continue;
    }
    try {
      await rm(dir, { recursive: true, force: true });
      result.deleted.push(id);
      logger.debug(`deleted checkpoint ${dir}`, { checkpointId: id });
    } catch (err) {
      result.failed.push(id);
      logger.warn(`could not delete old checkpoint ${dir}: ${describeError(err)}`, { dir, checkpointId: id });
    }
  }
  return result;
}

type Verdict = { status: 'complete'; meta: CheckpointMetadata } | { status: 'partial'; reason: string };

/** Complete, or partial (with why); throws for what is neither (newer format, I/O errors). */
async function inspectCheckpoint(dir: string, id: number, jobId: string, checksums: boolean): Promise<Verdict> {
  try {
    const meta = await readMetadata(dir);
    if (meta.checkpointId !== id) return { status: 'partial', reason: `its metadata is for checkpoint ${meta.checkpointId}, not ${id}` };
    if (meta.jobId !== jobId) return { status: 'partial', reason: `its metadata belongs to job ${meta.jobId}, not ${jobId}` };
    await verifyCheckpoint(dir, meta, { checksums });
    return { status: 'complete', meta };
  } catch (err) {
    if (err instanceof SluiceError && (err.code === 'CHECKPOINT_NOT_FOUND' || err.code === 'CHECKPOINT_CORRUPT')) {
      const partial = `partial: it has no ${METADATA_FILE_NAME}, the checkpoint never completed`;
      return { status: 'partial', reason: err.code === 'CHECKPOINT_NOT_FOUND' ? partial : err.message };
    }
    throw err;
  }
}

/** The job's `chk-<n>` directories, newest (highest id) first. */
async function listCheckpointDirs(root: string, jobId: string): Promise<{ id: number; dir: string }[]> {
  const jobDir = jobCheckpointsDir(root, jobId);
  let entries;
  try {
    entries = await readdir(jobDir, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw checkpointError('CHECKPOINT_IO', `could not list checkpoints in ${jobDir}: ${describeError(err)}`, err);
  }
  const out: { id: number; dir: string }[] = [];
  for (const e of entries) {
    const m = CHECKPOINT_DIR_PATTERN.exec(e.name);
    if (m === null || !e.isDirectory()) continue;
    const id = Number(m[1]);
    if (Number.isSafeInteger(id)) out.push({ id, dir: join(jobDir, e.name) });
  }
  return out.sort((a, b) => b.id - a.id);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw checkpointError('CHECKPOINT_IO', `could not access ${path}: ${describeError(err)}`, err);
  }
}

/** fsync a directory so a rename or new entry in it survives a crash. Not every platform allows it. */
async function fsyncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF' || code === 'ENOTSUP' || code === 'EACCES') return;
    throw err;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
