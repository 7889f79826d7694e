/**
 * `sluice submit` through runCli against a real REST server with a real bundle store (see
 * testing-rest-cluster.ts): what is uploaded, what is submitted, and how following a job ends.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadJob } from '@sluice/api';
import { bundleJob, createRestClient, runCli, type CliDependencies } from '@sluice/cli';
import type { JobDetailsResponse, VertexDetails } from '@sluice/jobmanager';
import { jobPath } from './harness.js';
import { unusedPort } from './ports.js';
import { startTestingRestCluster, type TestingRestCluster } from './testing-rest-cluster.js';

const JOB = jobPath('smoke.ts');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const clusters: TestingRestCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.close();
});

async function cluster(options: Parameters<typeof startTestingRestCluster>[0] = {}): Promise<TestingRestCluster> {
  const c = await startTestingRestCluster(options);
  clusters.push(c);
  return c;
}

type Signal = 'SIGINT' | 'SIGTERM';

function cli(home: string, extra: Partial<CliDependencies> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const listeners = new Set<(s: Signal) => void>();
  const deps: CliDependencies = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    loadEngine: () => Promise.reject(new Error('submit loads no engine')),
    env: { SLUICE_HOME: home },
    pollIntervalMs: 10,
    signals: { on: (_s, fn) => listeners.add(fn), off: (_s, fn) => listeners.delete(fn) },
    terminate: () => {
      throw new Error('not expected to end the process');
    },
    ...extra,
  };
  return { deps, out, err, interrupt: () => [...listeners].forEach((fn) => fn('SIGINT')), listening: () => listeners.size };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`gave up waiting for ${what}`);
}

describe('sluice submit', () => {
  it('uploads the bundle, submits the graph built here and, detached, prints the id', async () => {
    const c = await cluster();
    const h = cli(c.home);
    const code = await runCli(['submit', JOB, '-p', '2', '-D', 'k=v', '--checkpoint-interval', '1s', '--detached', '--address', c.url], h.deps);
    expect(h.err.join('')).not.toMatch(/error/);
    expect(code).toBe(0);
    const [s] = c.dispatcher.submitted;
    expect(h.out).toEqual([`${s!.jobId}\n`]);

    const bundle = await bundleJob(JOB);
    expect(await c.store!.list()).toEqual([{ id: sha256(bundle.bytes), bytes: bundle.bytes.length }]);
    expect(readFileSync(s!.artifact.entry)).toEqual(Buffer.from(bundle.bytes));
    expect(s!.artifact).toMatchObject({ bundle: sha256(bundle.bytes), source: JOB, params: { k: 'v' }, parallelism: 2, config: { checkpointIntervalMs: 1000 } });
    const local = await loadJob({ entry: bundle.file, source: JOB, params: { k: 'v' }, parallelism: 2, config: { checkpointIntervalMs: 1000 } });
    expect(s!.jobGraph).toEqual(JSON.parse(JSON.stringify(local.jobGraph)));
    expect(s!.jobGraph.vertices.every((v) => v.parallelism === 2)).toBe(true);
    expect(h.err.join('')).toContain(`'sluice info ${s!.jobId} --address ${c.url}' shows it, 'sluice cancel ${s!.jobId} --address ${c.url}' cancels it`);
    // The bundle is one file: the job's own imports are inside, @sluice/* stay bare for the cluster.
    const code2 = Buffer.from(bundle.bytes).toString('utf8');
    expect(code2).not.toMatch(/from ["']\.\.?\//);
  });

  it("builds the graph here with the cluster's job defaults (GET /config) under its own flags, and submits them", async () => {
    const c = await cluster({ jobDefaults: { parallelism: 3, checkpointDir: '/mnt/ck', checkpointIntervalMs: 2000, params: { name: 'from the cluster', rate: '5' } } });
    const h = cli(c.home);
    const job = jobPath('job-defaults.ts');
    expect(await runCli(['submit', job, '-D', 'rate=7', '--detached', '--address', c.url], h.deps), h.err.join('')).toBe(0);
    expect(h.err[0]).toBe('Cluster defaults applied: -p 3, checkpoints every 2s to /mnt/ck, -D name=…\n');
    const [s] = c.dispatcher.submitted;
    const params = { name: 'from the cluster', rate: '7' };
    expect(s!.artifact).toMatchObject({ params, parallelism: 3, config: { checkpointIntervalMs: 2000, checkpointDir: '/mnt/ck' } });
    // The graph is the one the job builds with those settings: its name is the cluster's parameter, every vertex at the default parallelism.
    const local = await loadJob({ entry: (await bundleJob(job)).file, source: job, params, parallelism: 3, config: { checkpointIntervalMs: 2000, checkpointDir: '/mnt/ck' } });
    expect(s!.jobGraph).toEqual(JSON.parse(JSON.stringify(local.jobGraph)));
    expect(s!.jobName).toBe('from the cluster');
    expect(s!.jobGraph.vertices.map((v) => v.parallelism)).toEqual(s!.jobGraph.vertices.map(() => 3));
    expect(s!.jobGraph.config).toMatchObject({ defaultParallelism: 3, checkpointIntervalMs: 2000, checkpointDir: '/mnt/ck' });
  });

  it('follows the job through scheduling to FINISHED and exits 0 with the summary', async () => {
    const c = await cluster();
    c.dispatcher.next = { statuses: ['CREATED', 'CREATED', 'RUNNING', 'RUNNING', 'FINISHED'] };
    const h = cli(c.home, { env: { SLUICE_HOME: c.home, SLUICE_ADDRESS: c.url } });
    expect(await runCli(['submit', JOB], h.deps)).toBe(0);
    const id = c.dispatcher.submitted[0]!.jobId;
    const lines = h.err.join('').trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Job '.*' \\(${id}\\) submitted to ${c.url} \\(bundle [\\d.]+ kB\\); following it, Ctrl-C detaches and leaves it running$`));
    expect(lines.slice(1).map((l) => l.replace(/ after .*$/, ''))).toEqual([`Job ${id} is CREATED (waiting for slots)`, `Job ${id} is RUNNING`, `Job ${id} is FINISHED`]);
    expect(h.out).toEqual([expect.stringMatching(/^Job '.*' FINISHED in 1\.50 s: 20 records from sources \(13 records\/s\); checkpoints: 2 completed, 0 failed\n$/)]);
    expect(h.listening()).toBe(0);
  });

  it('exits 1 with the error when the job fails, and 130 when it is cancelled', async () => {
    const c = await cluster();
    c.dispatcher.next = { statuses: ['RUNNING', 'FAILED'], error: "cannot score card card-5 in 'score' (subtask 1)" };
    const failed = cli(c.home, { env: { SLUICE_HOME: c.home, SLUICE_ADDRESS: c.url } });
    expect(await runCli(['submit', JOB], failed.deps)).toBe(1);
    expect(failed.err.at(-1)).toMatch(/^sluice: error: job '.*' failed after 1\.50 s: cannot score card card-5 in 'score' \(subtask 1\)\n$/);
    expect(failed.out).toEqual([]);

    c.dispatcher.next = { statuses: ['RUNNING', 'CANCELED'] };
    const cancelled = cli(c.home, { env: { SLUICE_HOME: c.home, SLUICE_ADDRESS: c.url } });
    expect(await runCli(['submit', JOB], cancelled.deps)).toBe(130);
    expect(cancelled.err.at(-1)).toMatch(/^Job '.*' CANCELED after 1\.50 s/);
  });

  it('detaches on Ctrl-C and leaves the job running, saying how to cancel it', async () => {
    const c = await cluster();
    c.dispatcher.next = { statuses: ['RUNNING'] };
    const h = cli(c.home);
    const done = runCli(['submit', JOB, '--address', c.url], h.deps);
    await until('the job to run', () => h.err.some((l) => l.includes(' is RUNNING')));
    h.interrupt();
    expect(await done).toBe(130);
    const id = c.dispatcher.submitted[0]!.jobId;
    expect(h.err.at(-1)).toBe(`Detached from job ${id}; it keeps running on the cluster. Cancel it with: sluice cancel ${id} --address ${c.url}\n`);
    expect(c.dispatcher.cancelled).toEqual([]);
    expect(c.dispatcher.statusOf(id)).toBe('RUNNING');
  });

  it('gives up with one line when the cluster stops answering while it follows the job', async () => {
    const c = await cluster();
    c.dispatcher.next = { statuses: ['RUNNING'] };
    const h = cli(c.home, { lostContactTimeoutMs: 200 });
    const done = runCli(['submit', JOB, '--address', c.url], h.deps);
    await until('the job to run', () => h.err.some((l) => l.includes(' is RUNNING')));
    await c.close();
    expect(await done).toBe(1);
    const id = c.dispatcher.submitted[0]!.jobId;
    expect(h.err.at(-2)).toBe(`sluice: warning: lost contact with ${c.url} (no connection); trying again for 0.20 s\n`);
    expect(h.err.at(-1)).toMatch(new RegExp(`^sluice: error: lost contact with the cluster at ${c.url} for [\\d.]+ s while following job ${id}; the job may still be running: check with 'sluice info ${id}' once the cluster answers again\n$`));
  });

  it('draws the status line with records/s from the vertices and the highest backpressure', async () => {
    const c = await cluster();
    c.dispatcher.next = { statuses: ['RUNNING', 'RUNNING', 'RUNNING', 'FINISHED'] };
    // The REST server reports no vertices until the JobMaster does: add them on this side.
    let polls = 0;
    const withVertices = (address: string, token: () => { token: string; source: string }) => {
      const real = createRestClient({ address, token });
      return {
        ...real,
        async jobDetails(jobId: string): Promise<JobDetailsResponse> {
          const details = await real.jobDetails(jobId);
          polls++;
          const graph = c.dispatcher.submitted[0]!.jobGraph;
          const vertices: VertexDetails[] = graph.vertices.map((v, i) => ({
            id: v.id,
            name: v.name,
            parallelism: v.parallelism,
            subtasks: { RUNNING: v.parallelism },
            recordsIn: v.isSource ? 1000 * polls : 0,
            recordsOut: v.isSink ? 500 * polls : 7,
            backpressure: i === 0 ? 0.4 : 0.1,
          }));
          return { ...details, vertices, exceptions: [] };
        },
      };
    };
    const draws: string[] = [];
    let clock = 0;
    const h = cli(c.home, {
      restClient: withVertices,
      statusTerminal: { columns: () => 200, draw: (l) => draws.push(l), clear: () => draws.push('clear') },
      // Every reading one second after the last: the rates are exact.
      now: () => (clock += 1000),
    });
    expect(await runCli(['submit', JOB, '--address', c.url], h.deps)).toBe(0);
    expect(draws[0]).toMatch(/^Uploading .*smoke\.ts: 0 B of [\d.]+ kB \(0%\)$/);
    expect(draws.filter((d) => d.startsWith('RUNNING'))).toEqual([
      'RUNNING 1.00 s | in … rec/s | out … rec/s | backpressure 40% | checkpoints 2 | restarts 0',
      'RUNNING 2.00 s | in 1,000 rec/s | out 500 rec/s | backpressure 40% | checkpoints 2 | restarts 0',
      'RUNNING 3.00 s | in 1,000 rec/s | out 500 rec/s | backpressure 40% | checkpoints 2 | restarts 0',
    ]);
    expect(draws.at(-1)).toBe('clear');
  });
});

describe('sluice submit refusals', () => {
  it('names the token file it looked for when there is no token, and uploads nothing', async () => {
    const c = await cluster();
    const h = cli(`${c.home}/elsewhere`);
    expect(await runCli(['submit', JOB, '--address', c.url], h.deps)).toBe(1);
    expect(h.err).toEqual([
      `sluice: error: no REST token for ${c.url}: SLUICE_REST_TOKEN is not set and ${c.home}/elsewhere/rest-${c.port}.token does not exist. ` +
        "A cluster ('sluice cluster start') and 'sluice run' keep their token in that file and print it at start; pass --token-file PATH or set SLUICE_REST_TOKEN\n",
    ]);
    expect(await c.store!.list()).toEqual([]);
    expect(c.dispatcher.submitted).toEqual([]);
  });

  it('takes the token from --token-file or SLUICE_REST_TOKEN', async () => {
    const c = await cluster();
    const h = cli(`${c.home}/elsewhere`, { env: { SLUICE_HOME: `${c.home}/elsewhere`, SLUICE_REST_TOKEN: 'testing-rest-cluster-token-0123456789abcdefgh' } });
    expect(await runCli(['submit', JOB, '-d', '--address', c.url], h.deps)).toBe(0);
    const f = cli(`${c.home}/elsewhere`);
    expect(await runCli(['submit', JOB, '-d', '--address', c.url, '--token-file', `${c.home}/rest-${c.port}.token`], f.deps)).toBe(0);
    expect(c.dispatcher.submitted).toHaveLength(2);
  });

  it('says the cluster is not running when nothing listens at the address', async () => {
    const port = await unusedPort();
    const h = cli('/nonexistent-home');
    expect(await runCli(['submit', JOB, '--address', `127.0.0.1:${port}`], h.deps)).toBe(1);
    expect(h.err).toEqual([
      `sluice: error: cannot reach the Sluice REST API at http://127.0.0.1:${port} (connection refused). Is the cluster running? Start one with 'sluice cluster start', ` +
        "or point at another with --address <url> or SLUICE_ADDRESS=<url> ('sluice run' prints its REST address when it starts)\n",
    ]);
  });

  it("tells a 'sluice run' server from a cluster", async () => {
    const c = await cluster({ artifacts: false });
    const h = cli(c.home);
    expect(await runCli(['submit', JOB, '--address', c.url], h.deps)).toBe(1);
    expect(h.err).toEqual([
      `sluice: error: the REST API at ${c.url} belongs to a 'sluice run' (one embedded job) and takes no submissions; start a cluster with 'sluice cluster start' and submit to its address with --address\n`,
    ]);
  });

  it('fails before uploading when the job cannot be built', async () => {
    const c = await cluster();
    const h = cli(c.home);
    expect(await runCli(['submit', jobPath('failing.ts'), '-D', 'where=build', '--address', c.url], h.deps)).toBe(1);
    expect(h.err).toEqual([expect.stringMatching(/^sluice: error: building the job in .*failing\.ts threw: the job refused to build: missing configuration "table"\n$/)]);
    expect(await c.store!.list()).toEqual([]);
  });
});
