/**
 * Source positions travel as plain JSON data (acknowledgement → `_metadata`): a source whose
 * splits JSON cannot hold fails its job at the first checkpoint, at once and naming the source,
 * instead of writing a checkpoint a restore would misread.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runJob } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('source positions as plain data', () => {
  it('fails a job whose source splits hold a bigint at its first checkpoint, without restarts, naming the source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-positions-'));
    dirs.push(dir);
    const r = await runJob('bigint-splits.ts', { params: { dir } });
    expect(r.status).toBe('FAILED');
    expect(r.restarts ?? 0).toBe(0);
    expect(r.error?.code).toBe('SOURCE_POSITION_NOT_PLAIN');
    expect(r.error?.message).toMatch(/source 'Counter' reported splits that are not plain JSON data: splits\[0\]\.next is a bigint \(\d+n\)/);
    // No checkpoint completed: nothing a restore could pick up.
    const jobs = readdirSync(dir);
    expect(jobs.flatMap((j) => readdirSync(join(dir, j)).flatMap((c) => readdirSync(join(dir, j, c)))).filter((f) => f === '_metadata')).toEqual([]);
  });
});
