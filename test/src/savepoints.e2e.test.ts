/**
 * Checkpoints and savepoints through the real `sluice` binary: `sluice run` with checkpoint
 * flags and its REST API, then `sluice savepoint`, `stop --drain`, `list` and `cancel` from other
 * processes, and a second `sluice run --from-savepoint` that must continue the committed output
 * of the first without a gap or a duplicate. Every process binds 127.0.0.1 on a free port.
 */
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses, exitWithin, lines, submitted, until, type CliProcesses } from './cli-process.js';
import { jobPath } from './harness.js';
import { committedLines as committed, type Line } from './jobs/exactly-once.js';
import { unusedPort } from './ports.js';

const RESUMABLE = jobPath('resumable.ts');
const KEYS = 5;
let scratch = '';
let sluice: CliProcesses;

beforeAll(() => {
  // realpath: the CLI reports resolved paths, and tmpdir() may be a symlink.
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-savepoints-e2e-')));
  sluice = cliProcesses(scratch);
});

afterEach(() => sluice.killAll());

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});


/** Completed checkpoints (directories with `_metadata`) of `jobId` under a checkpoint root. */
function completedCheckpoints(root: string, jobId: string): string[] {
  const dir = join(root, jobId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => d.startsWith('chk-') && existsSync(join(dir, d, '_metadata')))
    .map((d) => join(dir, d));
}

/** The records a failure-free run over sequence numbers 0..events-1 commits: per key, running count and sum. */
function expectedRecords(events: number): Line[] {
  const count = new Array<number>(KEYS).fill(0);
  const sum = new Array<number>(KEYS).fill(0);
  const out: Line[] = [];
  for (let seq = 0; seq < events; seq++) {
    const k = seq % KEYS;
    out.push({ key: k, seq, count: ++count[k]!, sum: (sum[k]! += seq) });
  }
  return out;
}

const bySeq = (a: Line, b: Line): number => a.seq - b.seq;

const MISMATCH = (path: string): RegExp =>
  new RegExp(
    `could not start: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds state for 3 operator\\(s\\) this job does not have: ` +
      `uid 'sequence' \\(Source: sequence\\), uid 'count-and-sum' \\(count-and-sum\\), uid 'files' \\(files\\)\\. ` +
      `Give those operators the same \\.uid\\(\\.\\.\\.\\) as in the job that wrote it, or pass --allow-non-restored-state to drop their state\\.$`,
  );

describe('savepoints from the command line', () => {
  it('takes a savepoint, stops with --drain, and resumes from the savepoint without gaps or duplicates', async () => {
    const out = join(scratch, 'resumable-out');
    const flags = ['-p', '2', '-D', `out=${out}`, '-D', `keys=${KEYS}`, '--checkpoint-interval', '200ms', '--checkpoint-dir', 'chk', '--rest-port', '0'];
    const first = sluice.start(['run', RESUMABLE, ...flags, '-D', 'rate=2000']);
    const { jobId, address } = await submitted(first);

    // --checkpoint-dir is resolved against the working directory; output is committed per checkpoint.
    await until('a completed checkpoint and committed output', () => completedCheckpoints(join(scratch, 'chk'), jobId).length > 0 && committed(out).length > 0, 60_000);

    const listed = await sluice.run(['list', '--address', address]);
    expect(listed.code).toBe(0);
    expect(lines(listed.stdout)[1]).toMatch(new RegExp(`^${jobId} +RUNNING +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +.+ +resumable$`));

    // The target directory is relative: resolved against the caller's working directory.
    const sp = await sluice.run(['savepoint', jobId, 'savepoints', '--address', address]);
    expect(sp).toMatchObject({ code: 0, stderr: '' });
    const savepoint = sp.stdout.trim();
    expect(dirname(savepoint)).toBe(join(scratch, 'savepoints'));
    expect(existsSync(join(savepoint, '_metadata'))).toBe(true);

    const stop = await sluice.run(['stop', jobId, '--savepoint-path', join(scratch, 'stopped'), '--drain'], { env: { SLUICE_ADDRESS: address } });
    expect(stop).toMatchObject({ code: 0, stderr: '' });
    const stopped = stop.stdout.trim();
    expect(dirname(stopped)).toBe(join(scratch, 'stopped'));
    expect(existsSync(join(stopped, '_metadata'))).toBe(true);

    const r1 = await exitWithin(first, 60_000);
    expect(r1.code).toBe(0);
    expect(lines(r1.stdout).at(-1)).toMatch(/^Job 'resumable' FINISHED in /);

    // Draining fired every key's end-of-input timer before the savepoint: one final line per
    // key, carrying that key's last count.
    const run1 = committed(out);
    const finals = run1.filter((l) => l.final === true);
    const records = run1.filter((l) => l.final !== true).sort(bySeq);
    expect(finals.map((f) => f.key).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const f of finals) expect(f.count).toBe(Math.max(...records.filter((l) => l.key === f.key).map((l) => l.count)));
    expect(records).toEqual(expectedRecords(records.length));

    // Resume from the stop savepoint, bounded this time: 3000 more sequence numbers, faster.
    const events = records.length + 3000;
    const second = await sluice.run(['run', RESUMABLE, ...flags, '-D', 'rate=20000', '-D', `events=${events}`, '--from-savepoint', stopped]);
    expect(second.stderr).not.toContain('error');
    expect(second.code).toBe(0);
    const all = committed(out).filter((l) => l.final !== true).sort(bySeq);
    expect(all.length).toBe(events);
    expect(all).toEqual(expectedRecords(events));

    // The same savepoint does not fit a different job.
    const other = await sluice.run(['run', jobPath('smoke.ts'), '--rest-port', '0', '--from-savepoint', savepoint]);
    expect(other.code).toBe(1);
    expect(lines(other.stderr).at(-1)).toMatch(MISMATCH(savepoint));
  }, 400_000);

  it('refuses to start a job from a savepoint of a different job, naming the unmatched uids', async () => {
    // A retained checkpoint: the same format and restore path as a savepoint (see the test above).
    // The job runs until it has completed one, however long that takes, and is then cancelled.
    const out = join(scratch, 'retained-out');
    const run = sluice.start(['run', RESUMABLE, '-D', `out=${out}`, '-D', 'rate=6000', '--checkpoint-interval', '50ms', '--checkpoint-dir', 'chk-retained', '--rest-port', '0']);
    const { jobId } = await submitted(run);
    await until('a completed checkpoint', () => completedCheckpoints(join(scratch, 'chk-retained'), jobId).length > 0, 60_000);
    run.child.kill('SIGINT');
    expect((await exitWithin(run, 60_000)).code).toBe(130);
    const [checkpoint] = completedCheckpoints(join(scratch, 'chk-retained'), jobId);
    expect(checkpoint).toBeDefined();

    const refused = await sluice.run(['run', jobPath('smoke.ts'), '--rest-port', '0', '--from-savepoint', checkpoint!]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    const err = lines(refused.stderr);
    expect(err.filter((l) => l.startsWith('sluice: error:'))).toHaveLength(1);
    expect(err.at(-1)).toMatch(/^sluice: error: job 'Sluice job' failed after \d+\.\d\d s: job [0-9a-f]{32} \(Sluice job\) /);
    expect(err.at(-1)).toMatch(MISMATCH(checkpoint!));

    const allowed = await sluice.run(['run', jobPath('smoke.ts'), '--rest-port', '0', '--from-savepoint', checkpoint!, '--allow-non-restored-state']);
    expect(allowed.code).toBe(0);
    expect(lines(allowed.stdout).at(-1)).toMatch(/^Job 'Sluice job' FINISHED in .*: 20 records from sources/);
  }, 300_000);

  it('refuses a checkpoint of a job that reuses the uids with another kind of source, also with --allow-non-restored-state; one of another name that fits restores with one warning', async () => {
    const fit = jobPath('savepoint-fit.ts');
    const r = await sluice.run(['run', fit, '-D', 'events=3000', '-D', 'rate=3000', '--checkpoint-interval', '50ms', '--checkpoint-dir', 'chk-fit', '--rest-port', '0']);
    expect(r.code).toBe(0);
    const jobId = /\(([0-9a-f]{32})\) submitted/.exec(r.stderr)?.[1];
    const [checkpoint] = completedCheckpoints(join(scratch, 'chk-fit'), jobId!);
    expect(checkpoint).toBeDefined();

    const refused = await sluice.run(['run', fit, '-D', 'source=collection', '--rest-port', '0', '--from-savepoint', checkpoint!, '--allow-non-restored-state']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(lines(refused.stderr).at(-1)).toContain(
      `${checkpoint!} does not fit job 'fit A': operator 'Source: numbers' (uid 'src'): its source splits are generator splits in the checkpoint, but are collection splits in this job.`,
    );

    const other = await sluice.run(['run', fit, '-D', 'name=fit B', '-D', 'events=3000', '--rest-port', '0', '--from-savepoint', checkpoint!]);
    expect(other.code).toBe(0);
    const named = lines(other.stderr).filter((l) => l.includes("'fit A'"));
    expect(named).toHaveLength(1);
    expect(named[0]).toMatch(/WARN.* is a checkpoint of job 'fit A', restored into job 'fit B': its state fits the operators with the same uids/);
  }, 60_000);

  it('cancels a running job with sluice cancel; its run exits 130', async () => {
    const run = sluice.start(['run', jobPath('unbounded-keyed.ts'), '-p', '2', '--rest-port', '0']);
    const { jobId, address } = await submitted(run);
    const listed = await sluice.run(['list'], { env: { SLUICE_ADDRESS: address } });
    expect(listed.stdout).toMatch(new RegExp(`^${jobId} +RUNNING `, 'm'));
    const cancel = await sluice.run(['cancel', jobId, '--address', address]);
    expect(cancel).toMatchObject({ code: 0, stdout: `Cancelling job ${jobId}\n`, stderr: '' });
    const r = await exitWithin(run, 60_000);
    expect(r.code).toBe(130);
    expect(lines(r.stderr).at(-1)).toMatch(/^Job 'unbounded keyed' CANCELED after /);
  }, 300_000);

  it('names an unreachable address in one line within seconds', async () => {
    const port = await unusedPort();
    const t0 = Date.now();
    const r = await sluice.run(['savepoint', '0123456789abcdef0123456789abcdef', '--address', `127.0.0.1:${port}`]);
    // "connection refused" (below) says the refusal ended it, not the 3 s connect timer. The bound
    // leaves a busy machine time to start the process, and still catches a client that waited
    // out its 30 s answer timeout.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr:
        `sluice: error: cannot reach the Sluice REST API at http://127.0.0.1:${port} (connection refused). Is the cluster running? Start one with 'sluice cluster start', ` +
        `or point at another with --address <url> or SLUICE_ADDRESS=<url> ('sluice run' prints its REST address when it starts)\n`,
    });
  });

  it('fails with advice when the REST port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await sluice.run(['run', jobPath('smoke.ts'), '--rest-port', String(port)]);
      expect(r).toEqual({
        code: 1,
        signal: null,
        stdout: '',
        stderr: `sluice: error: cannot serve the REST API on 127.0.0.1:${port}: the port is already in use (another 'sluice run'?); pass --rest-port 0 for any free port, or --rest-port <N>\n`,
      });
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
