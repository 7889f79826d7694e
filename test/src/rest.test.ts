/**
 * The REST API served by a real embedded cluster (real worker threads): runEmbedded reports its
 * address and token, the API sees the running job, refuses a cancel without the token or from
 * another site's page, cancels it with the token, and is gone once the run returns.
 */
import { describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import { runEmbedded } from '@sluice/minicluster';
import { jobPath } from './harness.js';

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

describe('REST API of the embedded cluster', () => {
  it('serves the running job, cancels it on request, and closes with the cluster', async () => {
    const entry = await compileJob(jobPath('unbounded-keyed.ts'));
    let restUrl: string | undefined;
    let token = '';
    let jobId = '';
    let onStarted = (): void => {};
    const started = new Promise<void>((resolve) => (onStarted = resolve));
    const run = runEmbedded(
      { entry, params: { output: 'collect' }, parallelism: 2 },
      {
        restPort: 0,
        onStarted: (info) => {
          restUrl = info.restUrl;
          token = info.restToken ?? '';
          jobId = info.jobId;
          onStarted();
        },
      },
    );
    await Promise.race([started, run.then((r) => Promise.reject(new Error(`the job ended before it started: ${r.status}`)))]);
    expect(restUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const list = await json(`${restUrl}/jobs`);
    expect(list).toEqual({ status: 200, body: { jobs: [expect.objectContaining({ jobId, jobName: 'unbounded keyed' })] } });
    const details = await json(`${restUrl}/jobs/${jobId}`);
    expect(details.status).toBe(200);
    expect((details.body as { status: string }).status).toMatch(/^(CREATED|RUNNING)$/);

    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cancelUrl = `${restUrl}/jobs/${jobId}/cancel`;
    const crossSite = await json(cancelUrl, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://evil.example' }, body: '{}' });
    expect(crossSite).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN_ORIGIN' } } });
    expect((await json(cancelUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await json(`${restUrl}/jobs/${jobId}`)).body).toMatchObject({ status: expect.stringMatching(/^(CREATED|RUNNING)$/) });

    const cancel = await json(cancelUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
    expect(cancel).toEqual({ status: 202, body: { jobId, status: 'CANCELLING' } });

    const result = await run;
    expect(result.status).toBe('CANCELED');
    // The run tore the cluster down, REST server included.
    await expect(fetch(`${restUrl}/jobs`)).rejects.toThrow();
  }, 60_000);
});
