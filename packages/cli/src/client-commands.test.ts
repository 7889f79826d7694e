/**
 * savepoint, stop, list and cancel through runCli against a real REST server (from
 * @sluice/jobmanager) over a scripted Dispatcher, on loopback ports picked by the OS.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '@sluice/common';
import { createRestServer, JobNotFoundError, type RestServer } from '@sluice/jobmanager';
import type { CheckpointStatistics, DispatcherGateway, JobDetails, JobOverview, JobResult, JobStatus, StopMode } from '@sluice/protocol';
import { runCli, type CliDependencies } from './cli.js';
import { formatJobList } from './client-commands.js';
import { createRestClient } from './rest-client.js';
import { writeTokenFile } from './rest-token.js';

class TestingDispatcherGateway implements DispatcherGateway {
  readonly jobs = new Map<string, JobOverview>([
    ['0123456789abcdef0123456789abcdef', { jobId: '0123456789abcdef0123456789abcdef', jobName: 'counts', status: 'RUNNING', startTime: Date.UTC(2026, 0, 2, 3, 4, 5) }],
    ['done', { jobId: 'done', jobName: 'old', status: 'FINISHED', startTime: Date.UTC(2026, 0, 1), endTime: Date.UTC(2026, 0, 1) + 2500 }],
  ]);
  readonly savepoints: { jobId: string; dir: string; stop: StopMode | undefined }[] = [];
  readonly cancelled: string[] = [];

  async submitJob(): Promise<{ jobId: string }> {
    throw new Error('unused');
  }
  async listJobs(): Promise<JobOverview[]> {
    return [...this.jobs.values()];
  }
  async requestJobStatus(jobId: string): Promise<JobStatus> {
    return this.job(jobId).status;
  }
  async cancelJob(jobId: string): Promise<void> {
    this.job(jobId).status = 'CANCELLING';
    this.cancelled.push(jobId);
  }
  async requestJobResult(): Promise<JobResult> {
    throw new Error('unused');
  }
  async triggerSavepoint(jobId: string, dir: string, stop?: StopMode): Promise<{ path: string }> {
    const job = this.job(jobId);
    if (job.status !== 'RUNNING') throw new SluiceError('SAVEPOINT_NOT_POSSIBLE', `job ${jobId} is ${job.status}; a savepoint needs a running job`);
    this.savepoints.push({ jobId, dir, stop });
    return { path: `${dir}/savepoint-012345-${this.savepoints.length}` };
  }
  async requestCheckpointStatistics(): Promise<CheckpointStatistics> {
    throw new Error('unused');
  }
  async requestJobDetails(): Promise<JobDetails> {
    throw new Error('unused');
  }
  private job(jobId: string): JobOverview {
    const j = this.jobs.get(jobId);
    if (j === undefined) throw new JobNotFoundError(jobId);
    return j;
  }
}

const ID = '0123456789abcdef0123456789abcdef';
const TOKEN = 'client-commands-test-token-0123456789abcdef';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** SLUICE_HOME of the commands: serve() leaves each server's token there, as 'sluice run' does. */
let home = '';
beforeAll(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-client-commands-')));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function serve(): Promise<{ dispatcher: TestingDispatcherGateway; server: RestServer }> {
  const dispatcher = new TestingDispatcherGateway();
  const server = await createRestServer({ dispatcher, port: 0, token: TOKEN });
  closers.push(() => server.close());
  writeTokenFile(join(home, `rest-${server.port}.token`), TOKEN);
  return { dispatcher, server };
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function cli(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const deps: CliDependencies = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    loadEngine: () => Promise.reject(new Error('client commands load no engine')),
    cwd: () => '/home/u/work',
    env: { SLUICE_HOME: home, ...env },
  };
  return { deps, out, err };
}

describe('client commands', () => {
  it('takes a savepoint into ./savepoints by default and prints its path', async () => {
    const { dispatcher, server } = await serve();
    const c = cli();
    expect(await runCli(['savepoint', ID, '--address', server.url], c.deps)).toBe(0);
    expect(c.out).toEqual(['/home/u/work/savepoints/savepoint-012345-1\n']);
    expect(c.err).toEqual([]);
    expect(await runCli(['savepoint', ID, '../elsewhere', '--address', `${server.url}/`], c.deps)).toBe(0);
    expect(dispatcher.savepoints).toEqual([
      { jobId: ID, dir: '/home/u/work/savepoints', stop: undefined },
      { jobId: ID, dir: '/home/u/elsewhere', stop: undefined },
    ]);
  });

  it('stops with a savepoint, draining when asked, at the address from SLUICE_ADDRESS', async () => {
    const { dispatcher, server } = await serve();
    const c = cli({ SLUICE_ADDRESS: server.url.replace('http://', '') });
    expect(await runCli(['stop', ID, '--savepoint-path', '/sp', '--drain'], c.deps)).toBe(0);
    expect(await runCli(['stop', ID, '--savepoint-path', 'sp'], c.deps)).toBe(0);
    expect(c.out).toEqual(['/sp/savepoint-012345-1\n', '/home/u/work/sp/savepoint-012345-2\n']);
    expect(dispatcher.savepoints.map((s) => s.stop)).toEqual(['drain', 'terminate']);
  });

  it('lists jobs and cancels one', async () => {
    const { dispatcher, server } = await serve();
    const c = cli({ SLUICE_ADDRESS: server.url });
    expect(await runCli(['list'], c.deps)).toBe(0);
    const rows = c.out.join('').trimEnd().split('\n').map((l) => l.split(/ {2,}/));
    expect(rows).toEqual([
      ['JOB ID', 'STATUS', 'STARTED (UTC)', 'DURATION', 'NAME'],
      ['done', 'FINISHED', '2026-01-01 00:00:00', '2.50 s', 'old'],
      [ID, 'RUNNING', '2026-01-02 03:04:05', expect.stringMatching(/ (min|h) /), 'counts'],
    ]);
    expect(await runCli(['cancel', ID], c.deps)).toBe(0);
    expect(c.out.at(-1)).toBe(`Cancelling job ${ID}\n`);
    expect(dispatcher.cancelled).toEqual([ID]);
  });

  it("prints the server's reason in one line and exits 1 for unknown and ended jobs", async () => {
    const { server } = await serve();
    const c = cli({ SLUICE_ADDRESS: server.url });
    expect(await runCli(['savepoint', 'nope'], c.deps)).toBe(1);
    expect(await runCli(['stop', 'done', '--savepoint-path', '/sp'], c.deps)).toBe(1);
    expect(await runCli(['cancel', 'done'], c.deps)).toBe(1);
    expect(c.err).toEqual([
      "sluice: error: no job with id 'nope' is known to this Dispatcher; list jobs to see the known ids\n",
      'sluice: error: job done is FINISHED; a savepoint needs a running job\n',
      'sluice: error: job done has already ended (FINISHED); there is nothing to cancel\n',
    ]);
    expect(c.out).toEqual([]);
  });

  it('names an unreachable address and how to point at the right one, within seconds', async () => {
    const port = await closedPort();
    const c = cli();
    const t0 = Date.now();
    expect(await runCli(['list', '--address', `http://127.0.0.1:${port}`], c.deps)).toBe(1);
    // "connection refused" (below) says the refusal ended it, not the 3 s connect timer. The bound
    // is generous, for a loaded machine: it only catches a client that waited out its 30 s
    // answer timeout or kept retrying.
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(c.err).toEqual([
      `sluice: error: cannot reach the Sluice REST API at http://127.0.0.1:${port} (connection refused). Is the cluster running? Start one with 'sluice cluster start', or point at another with --address <url> or SLUICE_ADDRESS=<url> ('sluice run' prints its REST address when it starts)\n`,
    ]);
  });

  it('refuses a malformed SLUICE_ADDRESS as bad usage (exit 2)', async () => {
    const c = cli({ SLUICE_ADDRESS: 'ftp://h:1' });
    expect(await runCli(['list'], c.deps)).toBe(2);
    expect(c.err).toEqual(["sluice: error: invalid value 'ftp://h:1' for SLUICE_ADDRESS: expected an http:// URL like http://127.0.0.1:8081 (the REST API speaks plain HTTP). Run 'sluice list --help'\n"]);
  });
});

describe('the REST token of client commands', () => {
  it('is read from the default file for the port of the address; list needs none', async () => {
    const { dispatcher, server } = await serve();
    const elsewhere = realpathSync(mkdtempSync(join(home, 'other-')));
    const c = cli({ SLUICE_HOME: elsewhere, SLUICE_ADDRESS: server.url });
    expect(await runCli(['list'], c.deps)).toBe(0);
    expect(await runCli(['cancel', ID], c.deps)).toBe(1);
    expect(await runCli(['savepoint', ID, '/sp'], c.deps)).toBe(1);
    const missing =
      `sluice: error: no REST token for ${server.url}: SLUICE_REST_TOKEN is not set and ${join(elsewhere, `rest-${server.port}.token`)} does not exist. ` +
      "A cluster ('sluice cluster start') and 'sluice run' keep their token in that file and print it at start; pass --token-file PATH or set SLUICE_REST_TOKEN\n";
    expect(c.err).toEqual([missing, missing]);
    expect(dispatcher.cancelled).toEqual([]);
    expect(dispatcher.savepoints).toEqual([]);
  });

  it('comes from --rest-token-file or SLUICE_REST_TOKEN; a refused one is named', async () => {
    const { dispatcher, server } = await serve();
    const file = join(home, 'chosen.token');
    writeFileSync(file, `${TOKEN}\n`);
    const c = cli({ SLUICE_ADDRESS: server.url, SLUICE_REST_TOKEN: 'stale-token-of-an-earlier-run-0123456789abc' });
    expect(await runCli(['cancel', ID, '--rest-token-file', file], c.deps)).toBe(0);
    expect(dispatcher.cancelled).toEqual([ID]);
    expect(await runCli(['stop', ID, '--savepoint-path', '/sp'], c.deps)).toBe(1);
    expect(c.err).toEqual([expect.stringMatching(/^sluice: error: wrong bearer token; the token is the one this REST server was started with \(the token sent came from \$SLUICE_REST_TOKEN\)\n$/)]);
    expect(dispatcher.savepoints).toEqual([]);
  });
});

describe('REST client limits', () => {
  it('gives up on a server that accepts but never answers', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    });
    const address = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const client = createRestClient({ address, requestTimeoutMs: 300 });
    const t0 = Date.now();
    await expect(client.listJobs()).rejects.toMatchObject({
      code: 'REST_TIMEOUT',
      message: `no answer from the Sluice REST API at ${address} within 0.3 s (GET /jobs); the job's process may be stuck or overloaded`,
    });
    // Generous, for a loaded machine, yet it tells the 0.3 s timeout from the 30 s default.
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('says so when the address is not a Sluice REST API', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const other = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Flink</html>'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => other.close(() => r())));
    const address = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    await expect(createRestClient({ address }).cancelJob('j')).rejects.toMatchObject({
      code: 'REST_BAD_RESPONSE',
      message: `unexpected answer from ${address} to POST /jobs/j/cancel: HTTP 200 (text/html); is this the address of a Sluice REST API?`,
    });
  });
});

describe('formatJobList', () => {
  it('aligns columns and says when there are no jobs', () => {
    expect(formatJobList([], 0)).toBe('No jobs.\n');
    const text = formatJobList(
      [
        { jobId: 'a', jobName: 'first job', status: 'RUNNING', startTime: 0 },
        { jobId: 'bbbb', jobName: 'second', status: 'CANCELED', startTime: 60_000, endTime: 185_000 },
      ],
      90_500,
    );
    expect(text).toBe(
      [
        'JOB ID  STATUS    STARTED (UTC)        DURATION    NAME',
        'a       RUNNING   1970-01-01 00:00:00  1 min 31 s  first job',
        'bbbb    CANCELED  1970-01-01 00:01:00  2 min 5 s   second',
        '',
      ].join('\n'),
    );
  });
});
