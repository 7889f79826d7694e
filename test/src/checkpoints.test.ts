/**
 * Checkpoints and recovery end to end, on real worker threads: a keyed stateful job with a
 * two-phase-commit file sink is killed many times at random moments (a throwing function, a
 * worker thread that exits) and restarts from its latest checkpoint each time; what it
 * committed must be exactly what a failure-free run commits — every record once, state intact,
 * each key's end-of-input timer firing once.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runJob } from './harness.js';
import type { Line } from './jobs/exactly-once.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-eo-'));
  dirs.push(d);
  return d;
}

/** Every committed line (pending files excluded). */
function committed(dir: string): Line[] {
  const out: Line[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith('part-')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line !== '') out.push(JSON.parse(line) as Line);
  }
  return out;
}

/** What a failure-free run must produce: per key, its sequence numbers in order with running count and sum. */
function expected(events: number, keys: number): Line[] {
  const count = new Array<number>(keys).fill(0);
  const sum = new Array<number>(keys).fill(0);
  const out: Line[] = [];
  for (let seq = 0; seq < events; seq++) {
    const k = seq % keys;
    out.push({ key: k, seq, count: ++count[k]!, sum: (sum[k]! += seq) });
  }
  for (let k = 0; k < keys; k++) out.push({ key: k, seq: -1, count: count[k]!, sum: sum[k]!, final: true });
  return out;
}

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

describe('exactly-once recovery from checkpoints', () => {
  it('commits exactly the failure-free output despite failures injected at random moments', async () => {
    const out = tempDir();
    const events = 300_000;
    const keys = 50;
    const r = await runJob('exactly-once.ts', { parallelism: 2, params: { out, events: String(events), keys: String(keys), failures: '6', rate: '60000' } });
    expect(r.error?.message).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    expect(r.restarts).toBe(6);
    expect(r.lastCheckpoint?.id).toBeGreaterThan(6);
    const lines = committed(out).sort(order);
    const want = expected(events, keys).sort(order);
    expect(lines.length).toBe(want.length);
    expect(lines).toEqual(want);
  }, 120_000);

  it('takes checkpoints of a job that never fails without changing its output', async () => {
    const out = tempDir();
    const r = await runJob('exactly-once.ts', { parallelism: 2, params: { out, events: '60000', keys: '7', rate: '40000' } });
    expect(r.status).toBe('FINISHED');
    expect(r.restarts).toBeUndefined();
    expect(r.lastCheckpoint?.id).toBeGreaterThan(3);
    expect(committed(out).sort(order)).toEqual(expected(60_000, 7).sort(order));
  }, 60_000);
});
