/**
 * The cluster's job defaults on the submitting side: how they lie under submit's flags, and a
 * `sluice submit` through runCli against a REST client double whose GET /config answers with
 * them — the graph is built from, and the submission carries, the merged settings.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ClusterConfigResponse, SubmitJobRequest } from '@sluice/jobmanager';
import { DEFAULT_JOB_CONFIG, type JobArtifact, type JobConfig, type JobGraph } from '@sluice/protocol';
import { runCli, type CliDependencies } from './cli.js';
import { applyJobDefaults, fetchJobDefaults } from './cluster-defaults.js';
import type { JobCommandOptions } from './job-args.js';
import { RestClientError, type RestClient } from './rest-client.js';

const BUNDLE = new TextEncoder().encode('export default () => {};\n');
const BUNDLE_ID = createHash('sha256').update(BUNDLE).digest('hex');

/** A cluster's REST API as the client sees it: GET /config answers `config` (or throws it), uploads and submissions are kept. */
class TestingRestClient {
  readonly address = 'http://127.0.0.1:8081';
  readonly submitted: SubmitJobRequest[] = [];
  configAsked = 0;
  constructor(private readonly answer: ClusterConfigResponse | Error) {}
  async configAnswer(): Promise<ClusterConfigResponse> {
    this.configAsked++;
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
  asClient(): RestClient {
    const unused = (): never => {
      throw new Error('not used by a detached submit');
    };
    return {
      address: this.address,
      config: () => this.configAnswer(),
      uploadArtifact: async (bytes) => ({ id: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }),
      submitJob: async (request) => {
        this.submitted.push(request);
        return 'job-1';
      },
      listJobs: unused,
      jobDetails: unused,
      checkpoints: unused,
      triggerSavepoint: unused,
      stopJob: unused,
      cancelJob: unused,
      overview: unused,
      taskManagers: unused,
    };
  }
}

/** runCli with the double and a graph builder that applies the artifact as loadJob does; `jobSets` is what the job's code sets. */
function submitWith(rest: TestingRestClient, jobSets: Partial<JobConfig> = {}) {
  const err: string[] = [];
  const out: string[] = [];
  const built: JobArtifact[] = [];
  const deps: CliDependencies = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    loadEngine: () => Promise.reject(new Error('submit loads no engine')),
    cwd: () => '/home/u/work',
    env: { SLUICE_REST_TOKEN: 't'.repeat(43) },
    restClient: () => rest.asClient(),
    bundleJob: async () => ({ file: '/home/u/work/.cache/job.mjs', bytes: BUNDLE }),
    buildGraph: async (artifact) => {
      built.push(artifact);
      const config: JobConfig = { ...DEFAULT_JOB_CONFIG, ...artifact.config, ...(artifact.parallelism === undefined ? {} : { defaultParallelism: artifact.parallelism }), ...jobSets };
      const graph: JobGraph = { jobName: 'numbers', vertices: [], edges: [], config };
      return graph;
    },
  };
  return { run: (...args: string[]) => runCli(['submit', 'job.ts', '--detached', ...args], deps), err, out, built };
}

const DEFAULTS: ClusterConfigResponse = { jobDefaults: { parallelism: 4, checkpointDir: '/mnt/ck', checkpointIntervalMs: 10_000, params: { bootstrap: 'kafka-1:9092', topic: 'in' } } };

describe('sluice submit with the cluster job defaults', () => {
  it('builds the graph with them and submits them when no flag says otherwise, saying which it applied', async () => {
    const rest = new TestingRestClient(DEFAULTS);
    const s = submitWith(rest);
    expect(await s.run()).toBe(0);
    expect(s.built).toEqual([
      { entry: '/home/u/work/.cache/job.mjs', source: 'job.ts', params: { bootstrap: 'kafka-1:9092', topic: 'in' }, parallelism: 4, config: { checkpointIntervalMs: 10_000, checkpointDir: '/mnt/ck' } },
    ]);
    expect(rest.submitted).toHaveLength(1);
    expect(rest.submitted[0]).toMatchObject({ artifactId: BUNDLE_ID, params: { bootstrap: 'kafka-1:9092', topic: 'in' }, parallelism: 4, config: { checkpointIntervalMs: 10_000, checkpointDir: '/mnt/ck' } });
    expect(rest.submitted[0]!.jobGraph.config).toMatchObject({ defaultParallelism: 4, checkpointIntervalMs: 10_000, checkpointDir: '/mnt/ck' });
    expect(s.err[0]).toBe('Cluster defaults applied: -p 4, checkpoints every 10s to /mnt/ck, -D bootstrap=…, -D topic=…\n');
    expect(s.err.join('')).not.toContain('kafka-1:9092');
    expect(s.out).toEqual(['job-1\n']);
  });

  it('lays them under its own flags: -p, --checkpoint-dir and --checkpoint-interval win, -D wins key by key', async () => {
    const rest = new TestingRestClient(DEFAULTS);
    const s = submitWith(rest);
    expect(await s.run('-p', '2', '--checkpoint-dir', 'ck', '-D', 'topic=mine', '-D', 'extra=1')).toBe(0);
    expect(s.built[0]).toMatchObject({ params: { bootstrap: 'kafka-1:9092', topic: 'mine', extra: '1' }, parallelism: 2, config: { checkpointIntervalMs: 10_000, checkpointDir: '/home/u/work/ck' } });
    expect(rest.submitted[0]).toMatchObject({ parallelism: 2, params: { bootstrap: 'kafka-1:9092', topic: 'mine', extra: '1' } });
    expect(s.err[0]).toBe('Cluster defaults applied: checkpoints every 10s, -D bootstrap=…\n');
  });

  it("leaves the job's code the last word, warning with the cluster's default named as such", async () => {
    const rest = new TestingRestClient(DEFAULTS);
    const s = submitWith(rest, { defaultParallelism: 3, checkpointIntervalMs: 1000 });
    expect(await s.run('--checkpoint-interval', '5s')).toBe(0);
    expect(rest.submitted[0]!.jobGraph.config).toMatchObject({ defaultParallelism: 3, checkpointIntervalMs: 1000 });
    expect(s.err).toContain("sluice: warning: the job's code sets the default parallelism to 3, which wins over the cluster's default -p 4\n");
    expect(s.err).toContain("sluice: warning: the job's code sets the checkpoint interval to 1s, which wins over --checkpoint-interval 5s\n");
  });

  it('takes a cluster that answers 404 NOT_FOUND (older than GET /config) as one without defaults, and prints nothing with --quiet', async () => {
    const old = new TestingRestClient(new RestClientError('NOT_FOUND', 'no such resource: /config', 404));
    const s = submitWith(old);
    expect(await s.run()).toBe(0);
    expect(s.built[0]).toEqual({ entry: '/home/u/work/.cache/job.mjs', source: 'job.ts', params: {} });
    expect(s.err.filter((l) => l.startsWith('Cluster defaults'))).toEqual([]);

    const quiet = submitWith(new TestingRestClient(DEFAULTS));
    expect(await quiet.run('--quiet')).toBe(0);
    expect(quiet.built[0]).toMatchObject({ parallelism: 4 });
    expect(quiet.err).toEqual([expect.stringMatching(/^Job 'numbers' submitted to /)]);
  });

  it('fails before bundling when GET /config fails otherwise, or answers what it does not serve', async () => {
    const refused = new TestingRestClient(new RestClientError('UNAUTHORIZED', 'wrong bearer token', 401));
    const s = submitWith(refused);
    expect(await s.run()).toBe(1);
    expect(s.err).toEqual(['sluice: error: wrong bearer token\n']);
    expect(s.built).toEqual([]);
    expect(refused.submitted).toEqual([]);

    const odd = submitWith(new TestingRestClient({ jobDefaults: { parallelism: 0 } }));
    expect(await odd.run()).toBe(1);
    expect(odd.err).toEqual(["sluice: error: the cluster at http://127.0.0.1:8081 answered GET /config with a parallelism of 0; is it a Sluice REST API of a matching version?\n"]);
  });

  it('warns about defaults of a newer cluster it does not know, and applies the rest', async () => {
    const rest = new TestingRestClient({ jobDefaults: { parallelism: 2, restartStrategy: 'none' } as ClusterConfigResponse['jobDefaults'] });
    const s = submitWith(rest);
    expect(await s.run()).toBe(0);
    expect(s.built[0]).toMatchObject({ parallelism: 2 });
    expect(s.err[0]).toBe("sluice: warning: the cluster at http://127.0.0.1:8081 has job defaults this sluice does not know and leaves out (restartStrategy); use the cluster's version of sluice\n");
  });
});

describe('applyJobDefaults', () => {
  const flags = (o: Partial<JobCommandOptions> = {}): JobCommandOptions => ({ jobFile: 'job.ts', params: {}, verbose: false, ...o });

  it('applies only what no flag sets, and reports exactly that', () => {
    expect(applyJobDefaults(flags(), {})).toEqual({ options: flags(), applied: {} });
    expect(applyJobDefaults(flags({ parallelism: 1, checkpointIntervalMs: 0 }), { parallelism: 8, checkpointIntervalMs: 500, checkpointDir: '/ck' })).toEqual({
      options: flags({ parallelism: 1, checkpointIntervalMs: 0, checkpointDir: '/ck' }),
      applied: { checkpointDir: '/ck' },
    });
    // A -D key that happens to be an Object.prototype name is still the user's own.
    expect(applyJobDefaults(flags({ params: { constructor: 'mine' } }), { params: { constructor: 'theirs', toString: 'x' } })).toEqual({
      options: flags({ params: { toString: 'x', constructor: 'mine' } }),
      applied: { params: { toString: 'x' } },
    });
  });

  it('fetchJobDefaults passes other errors on', async () => {
    const unreachable = new RestClientError('REST_UNREACHABLE', 'cannot reach');
    await expect(fetchJobDefaults(new TestingRestClient(unreachable).asClient())).rejects.toBe(unreachable);
    // A 404 of something else than the Sluice API (REST_BAD_RESPONSE) is not an older cluster.
    const other = new RestClientError('REST_BAD_RESPONSE', 'unexpected answer', 404);
    await expect(fetchJobDefaults(new TestingRestClient(other).asClient())).rejects.toBe(other);
  });
});
