import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalHighAvailabilityServices, type HighAvailabilityServices, type LeaderToken } from '@sluice/ha';
import { DEFAULT_JOB_CONFIG, type JobSubmission } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { termJobStore } from './leader-term.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function submission(jobId: string): JobSubmission {
  return {
    jobId,
    jobName: `job ${jobId}`,
    artifact: { entry: '/jobs/test.js', params: {} },
    jobGraph: { jobName: `job ${jobId}`, vertices: [], edges: [], config: { ...DEFAULT_JOB_CONFIG } },
  };
}

/** A local store and a term in it (as a lone entrypoint gets at once). */
async function term(): Promise<{ ha: HighAvailabilityServices; token: LeaderToken; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-term-'));
  const ha = createLocalHighAvailabilityServices({ directory: dir, pollIntervalMs: 20 });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => ha.close());
  const election = ha.leaderElection('dispatcher');
  const token = await new Promise<LeaderToken>((resolve) => void election.start({ grantLeadership: resolve, revokeLeadership: () => undefined }));
  return { ha, token, stop: () => election.stop() };
}

describe("a leadership term's job store", () => {
  it('serves the Dispatcher: submissions, JobMaster attempts, the latest checkpoint, ends', async () => {
    const { ha, token } = await term();
    const d = termJobStore(ha, token);
    await d.jobSubmitted(submission('j5'));
    await d.jobMasterStarted('j5', 0);
    await d.jobMasterStarted('j5', 1);
    await ha.checkpoints.putLatest(token, 'j5', { id: 3, location: '/ck/j5/chk-3' });
    expect(await d.latestCheckpoint('j5')).toEqual({ id: 3, location: '/ck/j5/chk-3' });
    await d.jobEnded('j5', 'FINISHED', 1234);
    expect(await ha.jobs.get('j5')).toMatchObject({ jobMasterAttempts: 2, ended: { status: 'FINISHED', endTime: 1234 } });
  });

  it("writes nothing once the term is over: the next term's records stay as they are", async () => {
    const { ha, token, stop } = await term();
    const d = termJobStore(ha, token);
    await d.jobSubmitted(submission('j6'));
    await stop();
    await expect(d.jobEnded('j6', 'CANCELED', 1)).rejects.toMatchObject({ code: 'HA_FENCED' });
    await expect(d.jobSubmitted(submission('j7'))).rejects.toMatchObject({ code: 'HA_FENCED' });
    expect(await ha.jobs.get('j6')).toMatchObject({ jobMasterAttempts: 0 });
    expect((await ha.jobs.get('j6'))?.ended).toBeUndefined();
    expect(await ha.jobs.get('j7')).toBeUndefined();
  });

  it('names the job when asked to update one the store does not hold', async () => {
    const { ha, token } = await term();
    await expect(termJobStore(ha, token).jobMasterStarted('nope', 0)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', message: expect.stringContaining('job nope') });
  });
});
