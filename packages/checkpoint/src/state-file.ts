/**
 * State files: the bytes a subtask snapshots into a checkpoint directory. A file is an 8-byte
 * header (magic + format version) followed by sections laid end to end; keyed state has one
 * section per key group so a restore at another parallelism reads only the groups it owns.
 *
 * Runs on worker threads. Sections are written with gathered writes in bounded batches, so a
 * 60 MB snapshot is never copied into one buffer; checksums are computed as the bytes go out.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describeError, ensureDirectory, SluiceError } from '@sluice/common';
import type { KeyGroupSectionRef, StateFileRef } from '@sluice/protocol';
import {
  checkpointError,
  encodeStateFileHeader,
  isValidStateFileName,
  stateFileHeaderProblem,
  STATE_FILE_HEADER_BYTES,
} from './format.js';

export interface StateFileSection {
  /** The key group these bytes belong to; omit for operator state. */
  keyGroup?: number;
  bytes: Uint8Array;
}

export interface WrittenStateFile {
  handle: StateFileRef;
  /** Sections that had a key group, sorted by key group. */
  keyGroups: KeyGroupSectionRef[];
}

/** Flush a gathered write once it holds this many bytes or buffers (Linux IOV_MAX is 1024). */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_BUFFERS = 512;

/**
 * Writes `sections` to `dir/fileName` (creating `dir`), fsyncs, and returns the handle and the
 * key-group sections for the checkpoint metadata. Key groups may come in any order but at most
 * once each. An existing file of the same name is replaced.
 */
export async function writeStateFile(dir: string, fileName: string, sections: readonly StateFileSection[]): Promise<WrittenStateFile> {
  if (!isValidStateFileName(fileName)) {
    throw checkpointError('CHECKPOINT_INVALID', `state file name ${JSON.stringify(fileName)} must be a plain file name (no path separators, not starting with '_')`);
  }
  const seen = new Set<number>();
  for (const s of sections) {
    if (s.keyGroup === undefined) continue;
    if (!Number.isInteger(s.keyGroup) || s.keyGroup < 0) {
      throw checkpointError('CHECKPOINT_INVALID', `state file ${fileName}: key group must be a non-negative integer, got ${s.keyGroup}`);
    }
    if (seen.has(s.keyGroup)) throw checkpointError('CHECKPOINT_INVALID', `state file ${fileName}: key group ${s.keyGroup} given twice`);
    seen.add(s.keyGroup);
  }

  const path = join(dir, fileName);
  let fh: FileHandle | undefined;
  try {
    await ensureDirectory(dir, 'checkpoint directory');
    fh = await open(path, 'w');
    const header = encodeStateFileHeader();
    let fileCrc = crc32(header);
    let offset = header.length;
    const keyGroups: KeyGroupSectionRef[] = [];
    let batch: Uint8Array[] = [header];
    let batchBytes = header.length;
    for (const s of sections) {
      const length = s.bytes.length;
      if (s.keyGroup !== undefined) keyGroups.push({ keyGroup: s.keyGroup, offset, length, crc32: crc32(s.bytes) >>> 0 });
      if (length === 0) continue;
      fileCrc = crc32(s.bytes, fileCrc);
      offset += length;
      batch.push(s.bytes);
      batchBytes += length;
      if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_BUFFERS) {
        await writeAll(fh, batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await writeAll(fh, batch);
    await fh.sync();
    keyGroups.sort((a, b) => a.keyGroup - b.keyGroup);
    return { handle: { file: fileName, bytes: offset, crc32: fileCrc >>> 0 }, keyGroups };
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw checkpointError('CHECKPOINT_IO', `could not write state file ${path}: ${describeError(err)}; check that the checkpoint directory is writable and has free space`, err);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** writev until every byte is out: a regular file may still take a short write. */
async function writeAll(fh: FileHandle, buffers: Uint8Array[]): Promise<void> {
  let pending = buffers;
  for (;;) {
    const total = pending.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await fh.writev(pending);
    if (bytesWritten >= total) return;
    if (bytesWritten === 0) throw new Error('write made no progress');
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
  }
}

/** Reads one key group's section, checking the file's size and header and the section's CRC. */
export async function readSection(dir: string, handle: StateFileRef, section: KeyGroupSectionRef): Promise<Uint8Array> {
  const [bytes] = await readSections(dir, handle, [section]);
  return bytes!;
}

/**
 * Reads several sections of one file with one open. Each result owns its ArrayBuffer, so it can
 * be transferred to another thread.
 */
export async function readSections(dir: string, handle: StateFileRef, sections: readonly KeyGroupSectionRef[]): Promise<Uint8Array[]> {
  return withStateFile(dir, handle, async (fh, path) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < sections.length; ) {
      // Adjacent small sections are read with one call and copied apart: with thousands of
      // key groups, one read per section would cost more than the bytes.
      let end = i + 1;
      let runBytes = sections[i]!.length;
      while (end < sections.length && isSmallNeighbour(sections[end - 1]!, sections[end]!) && runBytes + sections[end]!.length <= COALESCE_RUN_BYTES) {
        runBytes += sections[end]!.length;
        end++;
      }
      for (let j = i; j < end; j++) checkBounds(path, handle, sections[j]!);
      const first = sections[i]!;
      const run = await readExactly(fh, path, first.offset, runBytes);
      for (let j = i; j < end; j++) {
        const s = sections[j]!;
        const bytes = end - i === 1 ? run : run.slice(s.offset - first.offset, s.offset - first.offset + s.length);
        const actual = crc32(bytes) >>> 0;
        if (actual !== s.crc32) throw corrupt(path, `key group ${s.keyGroup}'s section has CRC-32 ${hex(actual)}, the metadata records ${hex(s.crc32)}`);
        out.push(bytes);
      }
      i = end;
    }
    return out;
  });
}

const COALESCE_BELOW_BYTES = 64 * 1024;
const COALESCE_RUN_BYTES = 4 * 1024 * 1024;

function isSmallNeighbour(prev: KeyGroupSectionRef, next: KeyGroupSectionRef): boolean {
  return prev.length < COALESCE_BELOW_BYTES && next.length < COALESCE_BELOW_BYTES && next.offset === prev.offset + prev.length;
}

function checkBounds(path: string, handle: StateFileRef, s: KeyGroupSectionRef): void {
  if (s.offset < STATE_FILE_HEADER_BYTES || s.offset + s.length > handle.bytes) {
    throw corrupt(path, `key group ${s.keyGroup}'s section [${s.offset}, ${s.offset + s.length}) lies outside the file's ${handle.bytes} bytes`);
  }
}

/** Reads the whole blob after the header (operator state), verifying the file's CRC-32. */
export async function readWholeFile(dir: string, handle: StateFileRef): Promise<Uint8Array> {
  return withStateFile(dir, handle, async (fh, path, header) => {
    const body = await readExactly(fh, path, STATE_FILE_HEADER_BYTES, handle.bytes - STATE_FILE_HEADER_BYTES);
    const actual = crc32(body, crc32(header)) >>> 0;
    if (actual !== handle.crc32) throw corrupt(path, `its CRC-32 is ${hex(actual)}, the metadata records ${hex(handle.crc32)}`);
    return body;
  });
}

/**
 * Streams a whole state file through CRC-32 and checks its header: what verifyCheckpoint does
 * to every referenced file. Returns the CRC-32 of the whole file.
 */
export async function checksumStateFile(dir: string, handle: StateFileRef): Promise<number> {
  return withStateFile(dir, handle, async (fh, path, header) => {
    let crc = crc32(header);
    const chunk = new Uint8Array(Math.min(1024 * 1024, Math.max(1, handle.bytes)));
    for (let pos = STATE_FILE_HEADER_BYTES; pos < handle.bytes; ) {
      const want = Math.min(chunk.length, handle.bytes - pos);
      const { bytesRead } = await fh.read(chunk, 0, want, pos);
      if (bytesRead === 0) throw corrupt(path, `it ends at byte ${pos}, the metadata records ${handle.bytes} bytes (truncated)`);
      crc = crc32(chunk.subarray(0, bytesRead), crc);
      pos += bytesRead;
    }
    return crc >>> 0;
  });
}

/** Opens a state file, checks its size against the handle and its header, runs `body`. */
async function withStateFile<T>(
  dir: string,
  handle: StateFileRef,
  body: (fh: FileHandle, path: string, header: Uint8Array) => Promise<T>,
): Promise<T> {
  const path = join(dir, handle.file);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw corrupt(path, 'the file is missing');
    throw checkpointError('CHECKPOINT_IO', `could not open state file ${path}: ${describeError(err)}`, err);
  }
  try {
    const { size } = await fh.stat();
    if (size !== handle.bytes) {
      throw corrupt(path, `it is ${size} bytes, the metadata records ${handle.bytes} (${size < handle.bytes ? 'truncated' : 'overwritten or appended to'})`);
    }
    const header = await readExactly(fh, path, 0, STATE_FILE_HEADER_BYTES);
    const problem = stateFileHeaderProblem(header);
    if (problem !== undefined) throw checkpointError(problem.code, `state file ${path} ${problem.reason}`);
    return await body(fh, path, header);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw checkpointError('CHECKPOINT_IO', `could not read state file ${path}: ${describeError(err)}`, err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readExactly(fh: FileHandle, path: string, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw corrupt(path, `it ends at byte ${position + done}, but ${position + length} bytes were expected (truncated)`);
    done += bytesRead;
  }
  return out;
}

function corrupt(path: string, why: string): Error {
  return checkpointError('CHECKPOINT_CORRUPT', `state file ${path} is corrupt: ${why}`);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
