import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_JOB_CONFIG, type JobSubmission } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { JobStore } from './job-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function store(): JobStore {
  const root = mkdtempSync(join(tmpdir(), 'sluice-jobstore-'));
  dirs.push(root);
  return new JobStore(join(root, 'jobs'));
}

function submission(jobId: string): JobSubmission {
  return {
    jobId,
    jobName: `job ${jobId}`,
    artifact: { entry: '/bundles/x.mjs', bundle: 'a'.repeat(64), params: {} },
    jobGraph: { jobName: `job ${jobId}`, vertices: [], edges: [], config: { ...DEFAULT_JOB_CONFIG } },
  };
}

describe('JobStore', () => {
  it('keeps a private record per job and replaces it on update', () => {
    const s = store();
    s.put({ submission: submission('j1'), jobMasterAttempts: 1 });
    const updated = s.update('j1', (r) => ({ ...r, jobMasterAttempts: 2 }));
    expect(s.get('j1')).toEqual(updated);
    expect(s.latestCheckpoint('j1')).toBeUndefined();
    s.putCheckpoint('j1', { id: 7, location: '/ck/j1/chk-7' });
    expect(s.latestCheckpoint('j1')).toEqual({ id: 7, location: '/ck/j1/chk-7' });
    expect(s.list().map((r) => r.submission.jobId)).toEqual(['j1']);
    expect(readdirSync(s.directory).sort()).toEqual(['j1.checkpoint', 'j1.json']);
    expect(statSync(join(s.directory, 'j1.json')).mode & 0o777).toBe(0o600);
    expect(statSync(s.directory).mode & 0o777).toBe(0o700);
    s.remove('j1');
    expect(s.get('j1')).toBeUndefined();
    expect(readdirSync(s.directory)).toEqual([]);
  });

  it('lists readable records and reports the others by file', () => {
    const s = store();
    s.put({ submission: submission('a'), jobMasterAttempts: 1 });
    s.put({ submission: submission('b'), jobMasterAttempts: 1 });
    writeFileSync(join(s.directory, 'c.json'), '{"half a rec');
    writeFileSync(join(s.directory, 'd.json'), JSON.stringify({ submission: submission('other'), jobMasterAttempts: 1 }));
    const problems: string[] = [];
    expect(s.list((file, problem) => problems.push(`${file}: ${problem}`)).map((r) => r.submission.jobId)).toEqual(['a', 'b']);
    expect(problems).toEqual([expect.stringMatching(/c\.json: .*not valid JSON.*remove the file/), expect.stringMatching(/d\.json: .*not a job record/)]);
  });

  it('never builds a file name from an id that is not one', () => {
    const s = store();
    for (const bad of ['../x', '.hidden', 'a/b', '', '..']) {
      expect(() => s.get(bad)).toThrow(/not a job id/);
      expect(() => s.put({ submission: submission(bad), jobMasterAttempts: 0 })).toThrow(/not a job id/);
    }
    expect(readdirSync(s.directory)).toEqual([]);
  });

  it('names the file and what to do when the checkpoint pointer is damaged', () => {
    const s = store();
    writeFileSync(join(s.directory, 'j9.checkpoint'), '{"id": "seven"}');
    expect(() => s.latestCheckpoint('j9')).toThrow(/latest-checkpoint pointer of job j9 at .*j9\.checkpoint is damaged .*remove it to resume the job from its start/);
  });

  it('serves the Dispatcher: submissions, JobMaster attempts, ends', async () => {
    const s = store();
    const d = s.forDispatcher();
    await d.jobSubmitted(submission('j5'));
    await d.jobMasterStarted('j5', 0);
    await d.jobMasterStarted('j5', 1);
    s.putCheckpoint('j5', { id: 3, location: '/ck/j5/chk-3' });
    expect(await d.latestCheckpoint('j5')).toEqual({ id: 3, location: '/ck/j5/chk-3' });
    await d.jobEnded('j5', 'FINISHED', 1234);
    expect(s.get('j5')).toMatchObject({ jobMasterAttempts: 2, ended: { status: 'FINISHED', endTime: 1234 } });
  });
});
