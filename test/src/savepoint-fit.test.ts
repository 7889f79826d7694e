/**
 * A savepoint restores only into a job it fits, on an embedded cluster with real worker threads.
 * Job 'fit A' (a generator source with uid 'src', a keyed counter with uid 'p' whose state
 * 'count' is a ValueState) writes a savepoint; jobs reusing those uids with another source or
 * another kind of state are refused — before deployment where the job graph tells, at the
 * subtask declaring the state otherwise — with or without --allow-non-restored-state and
 * whatever the restart strategy. A job of another name whose state fits restores with one
 * warning, and so does a checkpoint of format 2 (which recorded no state shapes, and kept source
 * positions in v8-serialized state files, converted into plain positions when it is read).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import { silentLogger, type Logger } from '@sluice/common';
import { startEmbeddedCluster, type EmbeddedCluster } from '@sluice/minicluster';
import type { JobResult } from '@sluice/protocol';
import { jobPath } from './harness.js';
import type { Counted } from './jobs/savepoint-fit.js';

const EVENTS = 50_000;
const KEYS = 4;
let scratch = '';
let embedded: EmbeddedCluster;
let entry = '';
/** Warnings and infos the cluster logged, as "message {fields}". */
const warnings: string[] = [];
const infos: string[] = [];
/** Job 'fit A's savepoint, taken once it held keyed state. */
let savepoint = '';

function capture(): Logger {
  const logger: Logger = {
    ...silentLogger,
    warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    info: (msg, fields) => infos.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    child: () => logger,
  };
  return logger;
}

interface MetadataOperator {
  uid: string;
  keyed: unknown[];
  operator: unknown[];
  states?: { name: string; kind: string; type?: string }[];
  positions?: { subtask: number; splits: unknown[]; watermark?: number | 'end' }[];
}

function readMetadata(dir: string): { version: number; jobName: string; operators: MetadataOperator[] } {
  return JSON.parse(readFileSync(join(dir, '_metadata'), 'utf8')) as { version: number; jobName: string; operators: MetadataOperator[] };
}

async function run(params: Record<string, string>, restore: { path: string; allowNonRestoredState?: boolean }, config = {}): Promise<JobResult> {
  const { handle } = await embedded.submit({ entry, params, parallelism: 1, config: { checkpointDir: join(scratch, 'chk'), ...config } }, { restoreFrom: restore });
  return handle.result();
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'sluice-savepoint-fit-'));
  embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, logger: capture() });
  entry = await compileJob(jobPath('savepoint-fit.ts'));
  const { handle } = await embedded.submit({ entry, params: { rate: '1000', keys: String(KEYS) }, parallelism: 1, config: { checkpointDir: join(scratch, 'chk') } });
  // Savepoints until one holds the counter's keyed state (the first may come before any record).
  for (let i = 0; savepoint === ''; i++) {
    const { path } = await embedded.cluster.dispatcher.triggerSavepoint(handle.jobId, join(scratch, `savepoints-${i}`));
    if ((readMetadata(path).operators.find((o) => o.uid === 'p')?.keyed.length ?? 0) > 0) savepoint = path;
    else if (i === 200) throw new Error('no savepoint of job fit A held keyed state');
  }
  await handle.cancel();
  await handle.result();
}, 60_000);

afterAll(async () => {
  await embedded?.close();
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

/**
 * What a run restored from job fit A's savepoint counted: per key, its counts must run on without
 * a gap from the restored count, and the final counts must add up to EVENTS — the savepoint's
 * records plus the ones after its source position, each once.
 */
function expectResumedCounts(r: JobResult): void {
  expect(r.error?.message).toBeUndefined();
  expect(r.status).toBe('FINISHED');
  const byKey = new Map<number, number[]>();
  for (const c of r.collected.counts as Counted[]) byKey.set(c.key, [...(byKey.get(c.key) ?? []), c.count]);
  let restored = 0;
  let final = 0;
  for (const counts of byKey.values()) {
    const first = counts[0]!;
    expect(counts).toEqual(Array.from({ length: counts.length }, (_, i) => first + i));
    restored += first - 1;
    final += counts.at(-1)!;
  }
  expect(restored).toBeGreaterThan(0);
  expect(final).toBe(EVENTS);
}

describe('what a savepoint records', () => {
  it("names the job, each operator's keyed states with their kinds, and the source's split type and positions (plain data, no state file)", () => {
    const meta = readMetadata(savepoint);
    expect(meta.version).toBe(4);
    expect(meta.jobName).toBe('fit A');
    const src = meta.operators.find((o) => o.uid === 'src');
    expect(src?.states).toEqual([{ name: 'splits', kind: 'source', type: 'generator' }]);
    expect(src?.operator).toEqual([]);
    expect(src?.positions).toEqual([{ subtask: 0, splits: [{ splitId: expect.any(String), offset: 0, stride: 1, nextIndex: expect.any(Number) }] }]);
    expect(meta.operators.find((o) => o.uid === 'p')?.states).toEqual([
      { name: 'count', kind: 'value' },
      { name: '__sluice.timers', kind: 'timers' },
    ]);
  });
});

describe('a savepoint restores only into a job it fits', () => {
  it.each([false, true])('refuses another kind of source under the same uid before deploying anything (allowNonRestoredState %s)', async (allowNonRestoredState) => {
    const r = await run({ source: 'collection', name: 'fit A' }, { path: savepoint, allowNonRestoredState });
    expect(r.status).toBe('FAILED');
    expect(r.error?.code).toBe('JOB_START_FAILED');
    expect(r.error?.message).toContain(
      `${savepoint} does not fit job 'fit A': operator 'Source: numbers' (uid 'src'): its source splits are generator splits in the checkpoint, but are collection splits in this job.`,
    );
    expect(r.error?.message).toContain('--allow-non-restored-state alone does not drop the state of an operator the job still has');
    expect(r.collected.counts ?? []).toEqual([]);
  });

  it('refuses an operator of another kind under the same uid', async () => {
    const r = await run({ p: 'reduce', events: String(EVENTS) }, { path: savepoint, allowNonRestoredState: true });
    expect(r.status).toBe('FAILED');
    expect(r.error?.message).toContain("operator 'counter' (uid 'p') is a reduce operator, but the checkpoint holds the state of a keyedProcess operator ('counter') under that uid");
    expect(r.collected.counts ?? []).toEqual([]);
  });

  it.each([false, true])(
    'refuses keyed state declared with another kind at once, without restarts (allowNonRestoredState %s)',
    async (allowNonRestoredState) => {
      const r = await run({ state: 'list', events: String(EVENTS) }, { path: savepoint, allowNonRestoredState }, { restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 10 } });
      expect(r.status).toBe('FAILED');
      expect(r.error?.code).toBe('STATE_INCOMPATIBLE');
      expect(r.error?.message).toBe(
        `cannot restore ${savepoint} into operator 'counter' (uid 'p'): the checkpoint holds its state 'count' as value state, but this job declares 'count' as list state. ` +
          'State of another kind needs another name — rename the state in this job, or give the operator a new .uid(...) and pass --allow-non-restored-state ' +
          'to drop its old state; --allow-non-restored-state alone does not drop the state of an operator the job still has',
      );
      expect(r.restarts).toBeUndefined();
      expect(r.collected.counts ?? []).toEqual([]);
    },
  );

  it('restores into a job of another name whose state fits, with one warning naming both names', async () => {
    const before = warnings.length;
    const r = await run({ name: 'fit B', events: String(EVENTS) }, { path: savepoint });
    expectResumedCounts(r);
    const named = warnings.slice(before).filter((w) => w.includes("'fit A'"));
    expect(named).toHaveLength(1);
    expect(named[0]).toMatch(new RegExp(`^${savepoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a savepoint of job 'fit A', restored into job 'fit B': `));
  });

  it('restores a checkpoint of format 2, which records no state shapes (saying that it could not check them) and kept source positions in state files', async () => {
    const old = join(scratch, 'format-2');
    cpSync(savepoint, old, { recursive: true });
    downgradeToFormat2(old);
    const before = { warnings: warnings.length, infos: infos.length };
    const r = await run({ events: String(EVENTS) }, { path: old });
    expectResumedCounts(r);
    expect(warnings.slice(before.warnings)).toEqual([]);
    expect(infos.slice(before.infos).filter((l) => l.includes('checkpoint format 2'))).toEqual([
      expect.stringMatching(/was written in checkpoint format 2, which does not record what each operator's state is: only operator kinds were compared/),
    ]);
  });
});

/**
 * Rewrites a savepoint as format 2 wrote it: version 2 in the metadata and in every state file's
 * header (with the files' checksums), no `states`, and each source position as a state file of
 * its own holding `{ splits, watermark }` v8-serialized; the metadata checksum recomputed.
 */
function downgradeToFormat2(dir: string): void {
  const doc = JSON.parse(readFileSync(join(dir, '_metadata'), 'utf8')) as Record<string, unknown> & { operators: (MetadataOperator & { keyed: FileRef[]; operator: FileRef[] })[] };
  for (const op of doc.operators) {
    for (const p of op.positions ?? []) {
      const watermark = p.watermark === undefined ? -Infinity : p.watermark === 'end' ? Infinity : p.watermark;
      const file = `${op.uid}-${p.subtask}.op`;
      const bytes = Buffer.concat([Buffer.from('SLST'), Buffer.alloc(4), serialize({ splits: p.splits, watermark })]);
      writeFileSync(join(dir, file), bytes);
      op.operator.push({ file, bytes: bytes.length, crc32: 0, subtask: p.subtask } as FileRef);
    }
    delete op.positions;
  }
  const fileCrc = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => !f.startsWith('_'))) {
    const bytes = readFileSync(join(dir, file));
    bytes.writeUInt32BE(2, 4);
    writeFileSync(join(dir, file), bytes);
    fileCrc.set(file, crc32(bytes) >>> 0);
  }
  doc.version = 2;
  for (const op of doc.operators) {
    delete op.states;
    for (const h of [...op.keyed, ...op.operator]) h.crc32 = fileCrc.get(h.file)!;
  }
  delete doc.checksum;
  doc.checksum = (crc32(JSON.stringify(doc)) >>> 0).toString(16).padStart(8, '0');
  writeFileSync(join(dir, '_metadata'), JSON.stringify(doc) + '\n');
}

interface FileRef {
  file: string;
  crc32: number;
}
