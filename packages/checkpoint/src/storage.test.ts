import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { createLogger, keyGroupRangeFor, type Logger } from '@sluice/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, METADATA_FILE_NAME, type CheckpointMetadata, type OperatorCheckpointState } from './format.js';
import { readSection, readWholeFile, writeStateFile } from './state-file.js';
import { checkpointDir, findLatestCheckpoint, pruneCheckpoints, readMetadata, resolveCheckpoint, verifyCheckpoint, writeMetadata } from './storage.js';

const JOB = 'job-1';
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-ckpt-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function capturingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: createLogger('warn', 'test', (line) => warnings.push(line)), warnings };
}

/**
 * Writes a complete checkpoint like subtasks and the coordinator would: a keyed operator at
 * parallelism 2 (max 8) and a source; with `withStates`, what their state is, as format 3 records it.
 */
async function writeCheckpoint(dir: string, id: number, kind: 'checkpoint' | 'savepoint' = 'checkpoint', withStates = false): Promise<CheckpointMetadata> {
  const keyed: OperatorCheckpointState = { uid: 'counter', name: 'Count per card', kind: 'keyed-process', parallelism: 2, maxParallelism: 8, keyed: [], operator: [], finishedSubtasks: [] };
  const source: OperatorCheckpointState = { uid: 'source', name: 'Kafka', kind: 'source', parallelism: 2, maxParallelism: 8, keyed: [], operator: [], finishedSubtasks: [1] };
  for (let subtask = 0; subtask < 2; subtask++) {
    const range = keyGroupRangeFor(8, 2, subtask);
    const sections = [];
    for (let g = range.start; g <= range.end; g++) sections.push({ keyGroup: g, bytes: text(`chk ${id} group ${g}`) });
    const written = await writeStateFile(dir, `counter-${subtask}.state`, sections);
    keyed.keyed.push({ ...written.handle, subtask, keyGroups: written.keyGroups });
    const blob = await writeStateFile(dir, `source-${subtask}.state`, [{ bytes: text(`offsets of split ${subtask} at ${id}`) }]);
    source.operator.push({ ...blob.handle, subtask });
  }
  const meta: CheckpointMetadata = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_FORMAT_VERSION,
    jobId: JOB,
    jobName: 'fraud detection',
    checkpointId: id,
    kind,
    triggeredAt: 1_700_000_000_000 + id,
    completedAt: 1_700_000_000_050.25 + id,
    operators: [keyed, source],
  };
  if (withStates) {
    keyed.states = [{ name: 'count', kind: 'value' }, { name: '__sluice.timers', kind: 'timers' }];
    source.states = [{ name: 'splits', kind: 'source', type: 'kafka-partition' }];
  }
  await writeMetadata(dir, meta);
  return meta;
}

async function rewriteMetadata(dir: string, edit: (doc: Record<string, unknown>) => void): Promise<void> {
  const doc = JSON.parse(await readFile(join(dir, METADATA_FILE_NAME), 'utf8')) as Record<string, unknown>;
  edit(doc);
  await writeFile(join(dir, METADATA_FILE_NAME), JSON.stringify(doc));
}

describe('checkpoint metadata', () => {
  it('lays checkpoints out as <root>/<jobId>/chk-<id> and refuses job ids that are not one path segment', () => {
    expect(checkpointDir('/ckpts', 'abc123', 42)).toBe(join('/ckpts', 'abc123', 'chk-42'));
    expect(() => checkpointDir('/ckpts', '../other', 1)).toThrow(/job id/);
    expect(() => checkpointDir('/ckpts', 'abc', -1)).toThrow(/non-negative integer/);
  });

  it('round-trips: metadata and state read back from the directory or from the _metadata file', async () => {
    const dir = checkpointDir(root, JOB, 3);
    const meta = await writeCheckpoint(dir, 3);
    expect(await readMetadata(dir)).toEqual(meta);
    expect(await readMetadata(join(dir, METADATA_FILE_NAME))).toEqual(meta);
    expect((await resolveCheckpoint(join(dir, METADATA_FILE_NAME))).dir).toBe(dir);
    await verifyCheckpoint(dir, meta);
    // The checksum covers content, not layout: a pretty-printed copy (jq) still reads.
    await rewriteMetadata(dir, () => undefined);
    await writeFile(join(dir, METADATA_FILE_NAME), JSON.stringify(JSON.parse(await readFile(join(dir, METADATA_FILE_NAME), 'utf8')), null, 2));
    expect(await readMetadata(dir)).toEqual(meta);

    const h = meta.operators[0]!.keyed[1]!;
    expect(new TextDecoder().decode(await readSection(dir, h, h.keyGroups[0]!))).toBe('chk 3 group 4');
    expect(new TextDecoder().decode(await readWholeFile(dir, meta.operators[1]!.operator[0]!))).toBe('offsets of split 0 at 3');
    // No temp file left behind; only plain relative names referenced.
    expect((await readdir(dir)).sort()).toEqual(['_metadata', 'counter-0.state', 'counter-1.state', 'source-0.state', 'source-1.state']);
  });

  it('reports a missing checkpoint, and a directory without _metadata as never completed', async () => {
    await expect(readMetadata(join(root, 'nope'))).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_FOUND', message: expect.stringContaining('does not exist') });
    const dir = join(root, 'partial');
    await mkdir(dir);
    await writeFile(join(dir, '_metadata.tmp'), '{"format":');
    await expect(readMetadata(dir)).rejects.toMatchObject({
      code: 'CHECKPOINT_NOT_FOUND',
      message: expect.stringMatching(/partial.*no _metadata.*never completed.*interrupted/),
    });
  });

  it('detects truncated, edited and malformed metadata', async () => {
    const dir = checkpointDir(root, JOB, 1);
    await writeCheckpoint(dir, 1);
    const file = join(dir, METADATA_FILE_NAME);
    const original = await readFile(file, 'utf8');

    await writeFile(file, original.slice(0, original.length / 2));
    await expect(readMetadata(dir)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringMatching(/_metadata is corrupt: it is not valid JSON/) });

    await writeFile(file, original.replace('"checkpointId":1', '"checkpointId":2'));
    await expect(readMetadata(dir)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringContaining('checksum') });

    await writeFile(file, original);
    await rewriteMetadata(dir, (doc) => {
      doc.format = 'something-else';
    });
    await expect(readMetadata(dir)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringContaining('not a Sluice checkpoint') });
  });

  it('rejects a well-checksummed document of the wrong shape, naming the field', async () => {
    const dir = checkpointDir(root, JOB, 1);
    const meta = await writeCheckpoint(dir, 1);
    // Metadata a buggy writer could produce is refused at write time...
    const escaping = structuredClone(meta);
    escaping.operators[0]!.keyed[0]!.file = '../../etc/passwd';
    await expect(writeMetadata(join(root, 'other'), escaping)).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining('operators[0].keyed[0].file') });
    const overlapping = structuredClone(meta);
    overlapping.operators[0]!.keyed[1]!.keyGroups[0]!.keyGroup = 0;
    await expect(writeMetadata(join(root, 'other'), overlapping)).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining('also claimed') });
  });

  it('records what each operator\'s state is (format 3), and reads format 2 metadata, which did not', async () => {
    const dir = checkpointDir(root, JOB, 4);
    const meta = await writeCheckpoint(dir, 4, 'checkpoint', true);
    expect(await readMetadata(dir)).toEqual(meta);

    const twice = structuredClone(meta);
    twice.operators[0]!.states!.push({ name: 'count', kind: 'value' });
    await expect(writeMetadata(join(root, 'other'), twice)).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining("operators[0].states[2].name \"count\" appears twice as value state") });

    // Format 2 as its writer left it: no states, its own version, its own checksum.
    const doc = JSON.parse(await readFile(join(dir, METADATA_FILE_NAME), 'utf8')) as { version: number; checksum?: string; operators: { states?: unknown }[] };
    doc.version = 2;
    for (const op of doc.operators) delete op.states;
    delete doc.checksum;
    doc.checksum = (crc32(JSON.stringify(doc)) >>> 0).toString(16).padStart(8, '0');
    await writeFile(join(dir, METADATA_FILE_NAME), JSON.stringify(doc));
    const old = await readMetadata(dir);
    expect(old.version).toBe(2);
    expect(old.operators.map((o) => o.states)).toEqual([undefined, undefined]);
  });

  it('refuses metadata written by a newer format version, saying what is needed', async () => {
    const dir = checkpointDir(root, JOB, 1);
    await writeCheckpoint(dir, 1);
    await rewriteMetadata(dir, (doc) => {
      doc.version = CHECKPOINT_FORMAT_VERSION + 1;
      doc.checksum = 'whatever a newer format does';
    });
    await expect(readMetadata(dir)).rejects.toMatchObject({
      code: 'CHECKPOINT_VERSION',
      message: expect.stringMatching(new RegExp(`format version ${CHECKPOINT_FORMAT_VERSION + 1}.*reads format versions up to ${CHECKPOINT_FORMAT_VERSION}.*newer Sluice release`)),
    });
  });

  it('refuses to overwrite a completed checkpoint and to commit one whose state files are not in the directory', async () => {
    const dir = checkpointDir(root, JOB, 1);
    const meta = await writeCheckpoint(dir, 1);
    await expect(writeMetadata(dir, meta)).rejects.toMatchObject({ code: 'CHECKPOINT_EXISTS' });
    const elsewhere = join(root, 'savepoint-without-files');
    await mkdir(elsewhere);
    await expect(writeMetadata(elsewhere, meta)).rejects.toMatchObject({ code: 'CHECKPOINT_INCOMPLETE', message: expect.stringMatching(/counter-0\.state is missing.*shared mount/) });
  });

  it('verifies every referenced file, naming the one that is truncated, damaged or missing', async () => {
    const dir = checkpointDir(root, JOB, 1);
    const meta = await writeCheckpoint(dir, 1);
    const file = join(dir, 'counter-1.state');
    const good = await readFile(file);

    const damaged = Buffer.from(good);
    damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 1;
    await writeFile(file, damaged);
    await verifyCheckpoint(dir, meta, { checksums: false }); // same size: only the CRC finds it
    await expect(verifyCheckpoint(dir, meta)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringMatching(/counter-1\.state.*CRC-32.*operator 'counter' subtask 1/) });

    await truncate(file, 10);
    await expect(verifyCheckpoint(dir, meta, { checksums: false })).rejects.toMatchObject({ message: expect.stringMatching(/counter-1\.state is 10 bytes.*truncated/) });

    await rm(file);
    await expect(verifyCheckpoint(dir, meta)).rejects.toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: expect.stringMatching(/counter-1\.state.*missing/) });
  });
});

describe('findLatestCheckpoint', () => {
  it('returns undefined when the job has no checkpoints', async () => {
    expect(await findLatestCheckpoint(root, JOB, capturingLogger().logger)).toBeUndefined();
  });

  it('picks the highest id in numeric order, not name order', async () => {
    await writeCheckpoint(checkpointDir(root, JOB, 9), 9);
    await writeCheckpoint(checkpointDir(root, JOB, 10), 10);
    const { logger, warnings } = capturingLogger();
    const latest = await findLatestCheckpoint(root, JOB, logger);
    expect(latest?.meta.checkpointId).toBe(10);
    expect(latest?.dir).toBe(checkpointDir(root, JOB, 10));
    expect(warnings).toEqual([]);
  });

  it('skips partial and corrupt checkpoints with one warning each, never returning them', async () => {
    await writeCheckpoint(checkpointDir(root, JOB, 4), 4);
    // 5: state files written, metadata never committed (crash mid-checkpoint).
    await writeStateFile(checkpointDir(root, JOB, 5), 'counter-0.state', [{ keyGroup: 0, bytes: text('x') }]);
    // 6: complete, then a state file truncated.
    await writeCheckpoint(checkpointDir(root, JOB, 6), 6);
    await truncate(join(checkpointDir(root, JOB, 6), 'source-0.state'), 12);
    // 7: metadata cut in half.
    await writeCheckpoint(checkpointDir(root, JOB, 7), 7);
    const meta7 = join(checkpointDir(root, JOB, 7), METADATA_FILE_NAME);
    await writeFile(meta7, (await readFile(meta7, 'utf8')).slice(0, 100));
    // Not checkpoints at all: ignored silently.
    await mkdir(join(root, JOB, 'chk-0099'));
    await mkdir(join(root, JOB, 'savepoint-x'));

    const { logger, warnings } = capturingLogger();
    const latest = await findLatestCheckpoint(root, JOB, logger);
    expect(latest?.meta.checkpointId).toBe(4);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/WARN .*skipping checkpoint .*chk-7: .*not valid JSON/);
    expect(warnings[1]).toMatch(/skipping checkpoint .*chk-6: .*source-0\.state is 12 bytes.*truncated/);
    expect(warnings[2]).toMatch(/skipping checkpoint .*chk-5: partial: it has no _metadata, the checkpoint never completed/);
  });

  it('with verifyChecksums, also skips a checkpoint whose state bytes were damaged in place', async () => {
    await writeCheckpoint(checkpointDir(root, JOB, 1), 1);
    await writeCheckpoint(checkpointDir(root, JOB, 2), 2);
    const file = join(checkpointDir(root, JOB, 2), 'counter-0.state');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(file, bytes);
    const { logger, warnings } = capturingLogger();
    expect((await findLatestCheckpoint(root, JOB, logger))?.meta.checkpointId).toBe(2);
    expect((await findLatestCheckpoint(root, JOB, logger, { verifyChecksums: true }))?.meta.checkpointId).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/chk-2: .*counter-0\.state.*CRC-32/);
  });

  it('skips a directory whose metadata belongs to another checkpoint id', async () => {
    await writeCheckpoint(checkpointDir(root, JOB, 1), 1);
    await writeCheckpoint(checkpointDir(root, JOB, 2), 2);
    // Someone copied chk-2 to chk-3 by hand.
    await mkdir(checkpointDir(root, JOB, 3));
    for (const f of await readdir(checkpointDir(root, JOB, 2))) {
      await writeFile(join(checkpointDir(root, JOB, 3), f), await readFile(join(checkpointDir(root, JOB, 2), f)));
    }
    const { logger, warnings } = capturingLogger();
    expect((await findLatestCheckpoint(root, JOB, logger))?.meta.checkpointId).toBe(2);
    expect(warnings[0]).toMatch(/chk-3: its metadata is for checkpoint 2, not 3/);
  });

  it('does not silently fall back past a checkpoint written by a newer Sluice', async () => {
    await writeCheckpoint(checkpointDir(root, JOB, 1), 1);
    await writeCheckpoint(checkpointDir(root, JOB, 2), 2);
    await rewriteMetadata(checkpointDir(root, JOB, 2), (doc) => {
      doc.version = 7;
    });
    await expect(findLatestCheckpoint(root, JOB, capturingLogger().logger)).rejects.toMatchObject({ code: 'CHECKPOINT_VERSION' });
  });
});

describe('pruneCheckpoints', () => {
  it('keeps the newest N complete, deletes older complete and older partial ones, keeps newer partial ones and foreign dirs', async () => {
    for (const id of [1, 2, 4, 6]) await writeCheckpoint(checkpointDir(root, JOB, id), id);
    await mkdir(checkpointDir(root, JOB, 3)); // partial, older than newest complete
    await mkdir(checkpointDir(root, JOB, 5)); // partial, older than newest complete
    await mkdir(checkpointDir(root, JOB, 7)); // partial, newer: may be in progress
    await mkdir(join(root, JOB, 'my-notes'));
    await writeFile(join(root, JOB, 'chk-1.tar'), 'not a dir');

    const { logger, warnings } = capturingLogger();
    const result = await pruneCheckpoints(root, JOB, 2, logger);
    expect(result).toEqual({ kept: [7, 6, 4], deleted: [5, 3, 2, 1], failed: [] });
    expect((await readdir(join(root, JOB))).sort()).toEqual(['chk-1.tar', 'chk-4', 'chk-6', 'chk-7', 'my-notes']);
    expect(warnings).toEqual([]);
    expect((await findLatestCheckpoint(root, JOB, logger))?.meta.checkpointId).toBe(6);
  });

  it('never deletes the only restorable checkpoint when the newest one is broken', async () => {
    await writeCheckpoint(checkpointDir(root, JOB, 1), 1);
    await writeCheckpoint(checkpointDir(root, JOB, 2), 2);
    await rm(join(checkpointDir(root, JOB, 2), 'counter-0.state'));
    const result = await pruneCheckpoints(root, JOB, 1, capturingLogger().logger);
    expect(result.kept).toEqual([2, 1]);
    expect((await findLatestCheckpoint(root, JOB, capturingLogger().logger))?.meta.checkpointId).toBe(1);
  });

  it('rejects retain < 1 and does nothing for a job without checkpoints', async () => {
    await expect(pruneCheckpoints(root, JOB, 0, capturingLogger().logger)).rejects.toThrow(/retain must be an integer ≥ 1/);
    expect(await pruneCheckpoints(root, JOB, 3, capturingLogger().logger)).toEqual({ kept: [], deleted: [], failed: [] });
  });
});
